import LogGenerator
#if canImport(Glibc)
    import Glibc
#endif

// loggen — writes a deterministic checkout log and, with --truth FILE, what it contains.
//   loggen [--records N | --bytes N[K|M|G]] [--seed S] [--format json,logfmt,kratos]
//          [--framing plain,prefix,timestamps,prefixTimestamps,timestampsPrefix,cri,docker]
//          [--exotic-coupons] [--dense] [--truth FILE] [-o FILE]
//          --dense: 95% of the records are events (request lines with latencies, promotions,
//          payments), against about a fifth by default
//   loggen --adversarial --seed S [--labels FILE] [--format LIST] [--framing LIST] [-o FILE]
//          a day drawn at random (benchmarks/scenarios.sh), labels with right and wrong actions
//   loggen --scenario [--hours H] [--prior-hours P] [--peak N] [--no-incidents] [--no-legit] [--only NAME]... [--pod-order] [--attack-distinct N]
//          [--labels FILE] [--format LIST] [--framing LIST] [--truth FILE] [-o FILE]
// Formats and framings given as lists are mixed line by line. --scenario writes a day of traffic
// with labelled incidents and legitimate spikes; --pod-order writes one pod after another, as
// `kubectl logs -l` without -f does (event time goes backwards at each pod boundary).

func usage() -> Never {
    fputs(
        "usage: loggen [--records N | --bytes N[K|M|G]] [--seed S] [--format LIST] [--framing LIST] [--exotic-coupons] [--dense] [--truth FILE] [-o FILE]\n",
        stderr)
    exit(2)
}

func size(_ s: String) -> Int? {
    let mult: Int
    var body = Substring(s)
    switch s.last {
    case "K", "k":
        mult = 1 << 10
        body = body.dropLast()
    case "M", "m":
        mult = 1 << 20
        body = body.dropLast()
    case "G", "g":
        mult = 1 << 30
        body = body.dropLast()
    default: mult = 1
    }
    return Int(body).map { $0 * mult }
}

var config = GeneratorConfig()
var formats: [PayloadFormat] = [.json]
var framings: [Framing] = [.plain]
var truthPath: String? = nil
var scenario: ScenarioConfig? = nil
var labelsPath: String? = nil
var podOrder = false
var adversarial = false
var outPath: String? = nil
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
    let a = args.removeFirst()
    func value() -> String {
        if args.isEmpty { usage() }
        return args.removeFirst()
    }
    switch a {
    case "--records":
        guard let n = Int(value()) else { usage() }
        config.records = n
    case "--bytes":
        guard let n = size(value()) else { usage() }
        config.targetBytes = n
    case "--seed":
        guard let n = UInt64(value()) else { usage() }
        config.seed = n
    case "--duration":
        guard let n = Int(value()) else { usage() }
        config.durationSeconds = n
    case "--format":
        formats = value().split(separator: ",").map { s -> PayloadFormat in
            guard let f = PayloadFormat(rawValue: String(s)) else { usage() }
            return f
        }
    case "--framing":
        framings = value().split(separator: ",").map { s -> Framing in
            guard let f = Framing(rawValue: String(s)) else { usage() }
            return f
        }
    case "--exotic-coupons": config.exoticCoupons = true
    case "--dense":
        // an event-dense day: every request line carries a latency, promotions and payments are
        // half of the rest, noise is a few percent
        config.eventShare = 0.5
        config.requestShare = 0.45
    case "--truth": truthPath = value()
    case "--scenario": scenario = scenario ?? ScenarioConfig()
    case "--hours":
        guard let n = Int(value()) else { usage() }
        scenario = scenario ?? ScenarioConfig()
        scenario!.hours = n
    case "--prior-hours":
        guard let n = Int(value()), n >= 0 else { usage() }
        scenario = scenario ?? ScenarioConfig()
        scenario!.priorHours = n
    case "--peak":
        guard let n = Double(value()) else { usage() }
        scenario = scenario ?? ScenarioConfig()
        scenario!.peakPerMinute = n
    case "--no-incidents":
        scenario = scenario ?? ScenarioConfig()
        scenario!.incidents = false
    case "--no-legit":
        scenario = scenario ?? ScenarioConfig()
        scenario!.legitSpikes = false
    case "--only":
        scenario = scenario ?? ScenarioConfig()
        scenario!.onlyIncidents.insert(value())
    case "--labels": labelsPath = value()
    case "--attack-distinct":
        guard let n = Int(value()) else { usage() }
        scenario = scenario ?? ScenarioConfig()
        scenario!.attackDistinct = n
    case "--pod-order": podOrder = true
    case "--adversarial": adversarial = true
    case "-o": outPath = value()
    default: usage()
    }
}

let out: UnsafeMutablePointer<FILE> =
    outPath.map {
        fopen($0, "w")
            ?? {
                perror("loggen")
                exit(1)
            }()
    } ?? stdout
var generator = Generator(config: config)
var truth = Truth()
var pick = SplitMix64(seed: config.seed ^ 0xF00D)
let renderers = formats.flatMap { f in framings.map { Renderer(format: f, framing: $0, pods: config.pods) } }
var buffer: [UInt8] = []
buffer.reserveCapacity(1 << 20)
var written = 0
func flush() {
    if buffer.count >= 1 << 20 {
        buffer.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, $0.count, out) }
        buffer.removeAll(keepingCapacity: true)
    }
}
if adversarial {
    var day = AdversarialDay(seed: config.seed)
    day.generate { record in
        let r = renderers.count == 1 ? renderers[0] : renderers[pick.int(renderers.count)]
        let before = buffer.count
        truth.add(record, lines: r.render(record, rng: &pick, into: &buffer))
        written += buffer.count - before
        flush()
    }
    if let p = labelsPath, let f = fopen(p, "w") {
        let params = day.parameters.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")
        fputs(
            "{\"seed\": \(config.seed), \"parameters\": {\(params)}, \"labels\": [\n"
                + day.labels.map { "  " + $0.json() }.joined(separator: ",\n") + "\n]}\n", f)
        fclose(f)
    }
} else if var sc = scenario {
    sc.seed = config.seed
    var sg = ScenarioGenerator(config: sc)
    var perPod = [[UInt8]](repeating: [], count: sc.pods)
    sg.generate { record in
        let r = renderers.count == 1 ? renderers[0] : renderers[pick.int(renderers.count)]
        if podOrder {
            let n = r.render(record, rng: &pick, into: &perPod[record.pod % sc.pods])
            truth.add(record, lines: n)
        } else {
            let before = buffer.count
            truth.add(record, lines: r.render(record, rng: &pick, into: &buffer))
            written += buffer.count - before
            if buffer.count >= 1 << 20 {
                buffer.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, $0.count, out) }
                buffer.removeAll(keepingCapacity: true)
            }
        }
    }
    for pod in perPod {
        buffer += pod
        written += pod.count
    }
    if let p = labelsPath, let f = fopen(p, "w") {
        fputs("[\n" + sg.labels.map { "  " + $0.json() }.joined(separator: ",\n") + "\n]\n", f)
        fclose(f)
    }
} else {
    generator.generate { record in
        let r = renderers.count == 1 ? renderers[0] : renderers[pick.int(renderers.count)]
        let before = buffer.count
        let n = r.render(record, rng: &pick, into: &buffer)
        truth.add(record, lines: n)
        written += buffer.count - before
        if buffer.count >= 1 << 20 {
            buffer.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, $0.count, out) }
            buffer.removeAll(keepingCapacity: true)
        }
        return config.targetBytes == 0 || written < config.targetBytes
    }
}
buffer.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, $0.count, out) }
fflush(out)
if outPath != nil { fclose(out) }
truth.bytes = written
if let p = truthPath, let f = fopen(p, "w") {
    fputs(truth.json() + "\n", f)
    fclose(f)
}

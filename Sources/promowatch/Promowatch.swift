import ArgumentParser
import PromowatchActions
import PromowatchConfig
import PromowatchCore
import PromowatchKube
import PromowatchEngine
import PromowatchInput
import PromowatchParsing
import PromowatchReport
#if canImport(Glibc)
import Glibc
#endif

@main
struct Promowatch: ParsableCommand {
    static let version = "0.2.0"

    static let configuration = CommandConfiguration(
        commandName: "promowatch",
        abstract: "Watches checkout logs for promotion abuse and payment-gateway failures.",
        discussion: """
        With no subcommand and standard input not a terminal, promowatch runs 'watch':
          kubectl logs -f -l app=checkout --prefix --timestamps | promowatch

        Examples:
          promowatch analyze fixtures/checkout-sample.log.gz
          promowatch analyze --format json archive/*.log.gz
          kubectl logs -l app=checkout --prefix --timestamps | promowatch analyze
          promowatch watch --config config/promowatch.yaml < /var/log/containers/checkout.log
        """,
        version: version,
        subcommands: [Analyze.self, Watch.self, Cron.self, History.self, Rollback.self],
        // `watch` is the default; on a terminal with nothing piped in, Watch shows this help instead
        defaultSubcommand: Watch.self
    )
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case json, text
}

/// Options shared by `analyze` and `watch`.
struct CommonOptions: ParsableArguments {
    @Option(help: "Output format: json (one object per line; the last is the summary) or text. Default: text on a terminal, json otherwise.")
    var format: OutputFormat?

    @Option(help: "Configuration file (YAML, see config/promowatch.yaml). Default: $PROMOWATCH_CONFIG, else built-in defaults.")
    var config: String?

    @Option(help: "How many coupons and providers to list in the summary (0 = all).")
    var top: Int = 20

    @Option(name: .customLong("min-score"), help: "Override general.min_score: -log10 tail probability for an anomaly.")
    var minScore: Double?

    @Option(name: .customLong("warmup-minutes"), help: "Override general.warmup_minutes.")
    var warmupMinutes: Int?

    @Option(name: .customLong("cooldown-minutes"), help: "Override general.cooldown_minutes.")
    var cooldownMinutes: Int?

    @Option(name: .customLong("allow"), help: "A coupon code that must never be blacklisted (repeatable; added to the allowlist).")
    var allow: [String] = []

    @Option(name: .customLong("campaign"), help: "A known campaign code (repeatable; added to campaigns).")
    var campaign: [String] = []

    @Flag(name: .customLong("no-detect"), help: "Only count events; no findings.")
    var noDetect = false

    @Flag(help: "Carry out proposed actions through the Kubernetes API (default: dry run, print what would change).")
    var apply = false

    @Flag(name: .customLong("server-dry-run"), help: "Send the changes with dryRun=All: the API server validates, nothing is stored.")
    var serverDryRun = false

    @Option(name: .customLong("kube-url"), help: "Kubernetes API URL without credentials, e.g. http://127.0.0.1:8001 for `kubectl proxy`.")
    var kubeURL: String?

    @Option(name: .customLong("kubeconfig"), help: "kubeconfig file (default: in-cluster service account, else $KUBECONFIG or ~/.kube/config).")
    var kubeconfig: String?

    func validate() throws {
        if top < 0 { throw ValidationError("--top must be 0 or more") }
        if let s = minScore, !(s >= 0) { throw ValidationError("--min-score must be 0 or more") }
        if let w = warmupMinutes, w < 0 { throw ValidationError("--warmup-minutes must be 0 or more") }
        if let c = cooldownMinutes, c < 0 { throw ValidationError("--cooldown-minutes must be 0 or more") }
    }

    /// Built-in defaults, then the file, then flags.
    func detectionConfig() throws -> DetectionConfig {
        var c = DetectionConfig()
        let path = config ?? getenv("PROMOWATCH_CONFIG").map { String(cString: $0) }
        if let path, !path.isEmpty {
            guard let text = readFile(path) else { throw ValidationError("cannot read configuration file \(path)") }
            c = try ConfigLoader.load(yaml: text, file: path)
        }
        if let s = minScore { c.general.minScore = s }
        if let w = warmupMinutes { c.general.warmupMinutes = w }
        if let d = cooldownMinutes { c.general.cooldownMinutes = d }
        c.allowlist += allow
        c.campaigns += campaign
        return c
    }

    func analyzerOptions(_ c: DetectionConfig) -> Analyzer.Options {
        var o = Analyzer.Options()
        let extra: [(Field, [String])] = c.aliases.compactMap { k, v in Field(configName: k).map { ($0, v) } }
        o.keys = KeyTable(extraAliases: extra)
        o.earliestTime = Int64(EventTime.daysFromCivil(year: c.input.earliestYear, month: 1, day: 1)) * 86_400 * EventTime.nanosPerSecond
        o.maxFutureSkew = Int64(c.input.maxFutureSkewSeconds) * EventTime.nanosPerSecond
        return o
    }

    var resolvedFormat: OutputFormat { format ?? (isatty(1) != 0 ? .text : .json) }

    /// The Kubernetes API: --kube-url, else --kubeconfig, else in-cluster / $KUBECONFIG / ~/.kube/config.
    func kubeAuth() throws -> KubeAuth {
        if let u = kubeURL { return KubeAuth(server: u) }
        if let k = kubeconfig { return try KubeAuth.kubeconfig(paths: [k]) }
        return try KubeAuth.discover()
    }

    /// Remediation for this run: guarded, dry run unless --apply. Kubernetes is contacted only
    /// when acting, server-dry-running, or given --kube-url / --kubeconfig.
    func remediator(_ c: DetectionConfig) throws -> Remediator {
        let mode: Remediator.Mode = apply ? .apply : (serverDryRun ? .serverDryRun : .dryRun)
        var client: KubeClient? = nil
        if apply || serverDryRun || kubeURL != nil || kubeconfig != nil {
            do {
                client = try KubeClient(auth: kubeAuth())
            } catch {
                throw ValidationError("cannot reach the Kubernetes API: \(error)")
            }
        }
        return Remediator(config: c.actions, allowlist: c.allowlist, mode: mode, client: client)
    }
}

func readFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        bytes += buf[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Writes findings and the summary; the only place output formats meet the engine.
struct Output {
    let format: OutputFormat
    let top: Int

    func finding(_ f: Finding) {
        switch format {
        case .json: print(FindingReport.json(f))
        case .text: print(FindingReport.text(f))
        }
    }

    func summary(_ s: RunSummary) {
        switch format {
        case .json: print(SummaryReport.json(s, top: top))
        case .text: print("\n" + SummaryReport.text(s, top: top))
        }
        fflush(stdout)
    }
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read logs (files, gzip files or stdin) and report findings and totals.",
        discussion: """
        Inputs may be plain or gzip (detected by content), in any framing of the log contract:
        plain, kubectl --prefix/--timestamps, CRI node files, Docker json-file; payloads in
        JSON or logfmt. With no FILE, or FILE '-', reads standard input. Results do not depend
        on line order (kubectl logs -l prints one pod after another).

        Examples:
          promowatch analyze fixtures/checkout-sample.log.gz
          promowatch analyze --format json a.log b.log.gz
          zcat archive/*.gz | promowatch analyze -
        """
    )

    @Argument(help: "Log files to read ('-' = standard input). Default: standard input.")
    var files: [String] = []

    @OptionGroup var options: CommonOptions

    func run() throws {
        let config = try options.detectionConfig()
        let analyzer = Analyzer(options: options.analyzerOptions(config))
        if !options.noDetect { analyzer.enableDetection(config) }
        let failed = readAll(files.isEmpty ? ["-"] : files, into: analyzer)
        analyzer.finish()
        let out = Output(format: options.resolvedFormat, top: options.top)
        if let d = analyzer.detector {
            if out.format == .text { print("findings") }
            var findings = d.finish().sorted { ($0.time, $0.category.rawValue) < ($1.time, $1.category.rawValue) }
            try options.remediator(config).handle(&findings)
            for f in findings { out.finding(f) }
            if out.format == .text && findings.isEmpty { print("  (none)") }
        }
        out.summary(analyzer.summary())
        if failed { throw ExitCode(1) }
    }
}

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a live log stream and report findings as they happen.",
        discussion: """
        Reads standard input (or FILEs in turn) and prints each finding within a second of the
        line that triggers it; while input is idle, windows are still evaluated and output flushed.

        Examples:
          kubectl logs -f -l app=checkout --prefix --timestamps | promowatch watch
          tail -F /var/log/containers/checkout-*.log | promowatch watch --format json
        """
    )

    @Argument(help: "Inputs to follow ('-' = standard input). Default: standard input.")
    var files: [String] = []

    @Flag(help: "Scale out: publish aggregates to PostgreSQL (--database-url); the group's leader detects and acts for all.")
    var shared = false

    @Option(help: "The --shared group (instances of one group share detection).")
    var group = "default"

    @Option(help: "This instance's name in the --shared group (default: host name and process id).")
    var instance: String?

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: CommonOptions

    func run() throws {
        if files.isEmpty && isatty(0) != 0 && !CommandLine.arguments.dropFirst().contains("watch") {
            print(Promowatch.helpMessage())  // bare `promowatch` on a terminal
            return
        }
        let config = try options.detectionConfig()
        if shared { return try runShared(config) }
        let analyzer = Analyzer(options: options.analyzerOptions(config))
        analyzer.enableDetection(config, streaming: true)
        let out = Output(format: options.resolvedFormat, top: options.top)
        let detector = analyzer.detector!
        let remediator = try options.remediator(config)
        var lastEval = Analyzer.now()
        let flush = {
            var found = detector.evaluateLatest()
            remediator.handle(&found)
            for f in found { out.finding(f) }
            fflush(stdout)
            lastEval = Analyzer.now()
        }
        analyzer.afterBlock = { if Analyzer.now() - lastEval >= 100_000_000 { flush() } }
        analyzer.onIdle(every: 200, flush)
        let failed = readAll(files.isEmpty ? ["-"] : files, into: analyzer)
        analyzer.finish()
        flush()
        out.summary(analyzer.summary())
        if failed { throw ExitCode(1) }
    }
}

/// Reads every input in turn; a failing one is reported and the rest still read.
/// Returns whether any failed.
func readAll(_ paths: [String], into analyzer: Analyzer) -> Bool {
    var failed = false
    for path in paths {
        do { try analyzer.run(path: path) } catch {
            failed = true
            Stderr.write("promowatch: \(TerminalText.safe(String(describing: error), maxLength: 500))\n")
        }
    }
    return failed
}

enum Stderr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { b in _ = Glibc.write(2, b.baseAddress, b.count) }
    }
}

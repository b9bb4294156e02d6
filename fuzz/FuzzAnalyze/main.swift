// libFuzzer target for the whole analyze path: block reader (plain and gzip), deframer, payload
// scanner, event extractor, detector ingest and evaluation (batch and streaming), the decision
// stage, incidents, and every report. Built only by scripts/fuzz.sh (`-sanitize=fuzzer,address
// -parse-as-library`); in an ordinary build this file has no top-level code and does nothing.
//
// Oracles besides the sanitizer: every JSON text is valid JSON, and no report (JSON or text)
// carries a raw control, bidi, line-separator or invisible character from the input.
import CFuzzDriver
import Foundation
import PromowatchCore
import PromowatchDecision
import PromowatchDetection
import PromowatchEngine
import PromowatchInput
import PromowatchReport

/// The input goes through a real file (`ByteSource.open` sniffs gzip by its magic bytes).
let inputPath =
    (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()) + "/promowatch-fuzz-\(getpid()).log"

/// Small line and block limits make the boundaries (oversized lines, lines across blocks, the
/// line index filling up) reachable with inputs of a few KB.
let analyzerOptions: Analyzer.Options = {
    var o = Analyzer.Options()
    o.maxLineLength = 200
    o.blockSize = 512
    // small tables: their full and colliding paths are reached too (and a run stays cheap)
    o.detectorSizes.firstSeenCellsLog2 = 8
    o.detectorSizes.pairSlotsLog2 = 5
    o.limits.coupons = 64
    o.limits.providers = 4
    o.limits.sources = 8
    return o
}()

#if FUZZING
    @_cdecl("FuzzAnalyze_main")
    func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        atexit { unlink(inputPath) }
        return promowatch_fuzz_main(argc, argv) { data, size in fuzzAnalyze(UnsafeRawPointer(data!), size) }
    }
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAnalyze(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let fd = open(inputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    if fd < 0 { fatalError("cannot write \(inputPath)") }
    var done = 0
    while done < count {
        let n = write(fd, start + done, count - done)
        if n <= 0 { fatalError("cannot write \(inputPath)") }
        done += n
    }
    close(fd)
    // batch (`analyze`) for inputs of even length, streaming (`watch`) for odd: one pass each
    analyze(streaming: count % 2 == 1)
    return 0
}

func analyze(streaming: Bool) {
    var config = DetectionConfig()
    // a bound small enough that batches fold early (`Detector.foldForBudget`) on 4 KB inputs
    config.input.batchMinuteEntries = 4
    let analyzer = Analyzer(options: analyzerOptions)
    analyzer.enableDetection(config, streaming: streaming)
    var found: [Finding] = []
    if streaming, let d = analyzer.detector {
        analyzer.afterBlock = { found += d.evaluateLatest(upTo: d.watermark + 120 * EventTime.nanosPerSecond) }
    }
    try? analyzer.run(path: inputPath)
    analyzer.finish()
    guard let detector = analyzer.detector else { fatalError("detection was enabled") }
    found += detector.finish()
    var findings = DecisionStage(config: config.decision).review(found)
    let incidents = IncidentTracker(gapMinutes: config.decision.incidentGapMinutes)
    for i in findings.indices { incidents.assign(&findings[i]) }
    incidents.advance(to: detector.watermark)
    for f in findings {
        checkJSON(FindingReport.json(f))
        checkText(FindingReport.text(f))
    }
    for e in incidents.resolved {
        checkJSON(IncidentReport.json(e))
        checkText(IncidentReport.text(e))
    }
    let summary = analyzer.summary()
    checkJSON(SummaryReport.json(summary, top: 5))
    checkText(SummaryReport.text(summary, top: 5))
}

func checkJSON(_ s: String) {
    checkText(s)
    guard (try? JSONSerialization.jsonObject(with: Data(s.utf8))) != nil else {
        fatalError("invalid JSON: \(s.debugDescription)")
    }
}

/// Characters a terminal obeys or hides: C0 (but newline), DEL, C1, bidi controls, line and
/// paragraph separators, zero-width and byte-order marks.
func checkText(_ s: String) {
    for u in s.unicodeScalars {
        let v = u.value
        let bad =
            (v < 0x20 && v != 0x0A) || (0x7F...0x9F).contains(v) || v == 0x061C || (0x200B...0x200F).contains(v)
            || (0x2028...0x202E).contains(v) || (0x2060...0x2069).contains(v) || v == 0xFEFF
        if bad { fatalError("unsafe character U+\(String(v, radix: 16)) in output: \(s.debugDescription)") }
    }
}

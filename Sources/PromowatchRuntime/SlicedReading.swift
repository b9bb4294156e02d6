import PromowatchCore
import PromowatchDetection
import PromowatchEngine
import PromowatchInput

#if canImport(Glibc)
    import Glibc
#endif

/// A batch that outgrew its entry bound on input not in time order (`kubectl logs -l` printing one
/// pod after another, an archive of a file per pod): its first reading folded minutes before all
/// their events had arrived. The inputs are read again, one span of event time at a time, into a
/// fresh detector (`Detector+TimeSlices`), so every minute is whole when it is evaluated and the
/// findings do not depend on the order of the lines. Each span reads only the inputs whose events
/// reach into it. Standard input is read again from the file it is redirected from, or from the
/// copy made while reading it (`StdinAgain`); without either its late events stay counted.
enum SlicedReading {
    /// The detector of the spans, or nil when the first reading stands (every event was in its
    /// minute's window, an input cannot be read again, or the minutes were too many to weigh).
    /// The first reading's detector is let go first (its minutes are no use any more).
    static func reread(
        _ first: Analyzer, config: DetectionConfig, stdin: StdinAgain? = nil
    ) -> (detector: Detector, slices: Int)? {
        // the inputs that gave events, each a file that can be read again (a missing one gave none)
        var spans = first.inputSpans.filter { $0.first <= $0.last }
        for i in spans.indices where spans[i].path == "-" {
            guard let again = stdin?.path else { return nil }
            spans[i].path = again
        }
        guard !spans.isEmpty, spans.allSatisfy({ isRegularFile($0.path) }), let slices = plan(first) else {
            return nil
        }
        first.releaseDetector()
        let fresh = Detector(
            config: config, coupons: first.extractor.coupons, providers: first.extractor.providers,
            sizes: first.options.detectorSizes)
        for slice in slices {
            // the inputs in reading order whose events reach into the span
            let reading = spans.filter { $0.first < slice.upperBound && $0.last >= slice.lowerBound }
            fresh.timeSlice = slice
            let a = Analyzer(options: first.options, sharingTablesOf: first)
            a.enableDetection(sharing: fresh)
            for s in reading { try? a.run(path: s.path) }  // its errors were reported by the first reading
            a.finish()  // every event handed to the detection thread is in
            fresh.settle(before: slice.upperBound)
        }
        fresh.timeSlice = nil
        return (fresh, slices.count)
    }

    /// The spans of event time to read, or nil when the first reading stands.
    static func plan(_ first: Analyzer) -> [Range<Int64>]? {
        guard let d = first.detector, d.lateEvents > 0, let weights = d.minuteWeights() else { return nil }
        return Detector.slices(weights, budget: d.sliceBudget)
    }
}

/// How a batch reads standard input again: the file it is redirected from (`promowatch analyze <
/// day.log`), opened afresh; else a copy made while reading it from a pipe (`InputSpool`, up to
/// `input.stdin_copy_megabytes`). Made before the first reading.
final class StdinAgain {
    private let redirected: String?
    let spool: InputSpool?

    /// nil when standard input is not among the inputs.
    init?(inputs: [String], config: DetectionConfig) {
        guard inputs.contains("-") else { return nil }
        var st = stat()
        if fstat(0, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && lseek(0, 0, SEEK_CUR) == 0 {
            redirected = "/proc/self/fd/0"
            spool = nil
        } else {
            redirected = nil
            let limit = config.input.stdinCopyMegabytes
            spool = limit > 0 ? InputSpool(limit: limit << 20) : nil
        }
    }

    /// What opens standard input's bytes again from the first, or nil.
    var path: String? { redirected ?? spool?.path }

    /// Why standard input cannot be read again, when it was to be copied.
    var gaveUp: String? { spool?.gaveUp }
}

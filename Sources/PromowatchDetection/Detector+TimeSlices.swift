import PromowatchCore

// Time slices: a batch keeps every minute until the end, so its results do not depend on line
// order, but only up to `input.batch_minute_entries`; past that it folds the oldest minutes into
// the baseline as it reads. Input in time order loses nothing by that. Input that is not — `kubectl
// logs -l` without `-f` prints one pod after another, an archive holds a file per pod — then
// has events arrive after their minute was folded (`lateEvents`): counted in the baseline, in no
// window, and the findings depend on the order of the pods. Such a batch is read again, one span
// of event time at a time (`SlicedReading`): a fresh detector ignores events outside the span
// (`timeSlice`) and, at its end, evaluates and folds the span's minutes (`settle`), so every
// minute is whole when evaluated, whatever the order of the lines.
extension Detector {
    /// How many entries a span of event time may hold: half the bound, so the span's minutes and
    /// the minutes its windows reach back to fit together.
    public var sliceBudget: Int { max(1, config.input.batchMinuteEntries / 2) }

    /// The distinct minutes `foldedWeights` records at most (half a year): past that a batch is
    /// not split (its late events stay counted).
    static let maxWeighedMinutes = 1 << 18

    /// A minute folded with `w` entries.
    func noteFoldedWeight(_ m: Int, _ w: Int) {
        guard foldedWeights[m] != nil || foldedWeights.count < Detector.maxWeighedMinutes else {
            foldedWeightsOverflow = true
            return
        }
        foldedWeights[m, default: 0] += w
    }

    /// An event of a minute folded before it arrived.
    func noteLateEvent(_ m: Int) {
        // a minute first met as late events still needs its own tables when read again
        noteFoldedWeight(m, foldedWeights[m] == nil ? MinuteBucket.entryWeight : MinuteBucket.lateEventWeight)
    }

    /// Per minute with events, in time order, the entries it holds (folded minutes as they were,
    /// minutes with late events estimated from them); nil when there were too many minutes.
    public func minuteWeights() -> [(minute: Int, weight: Int)]? {
        guard !foldedWeightsOverflow else { return nil }
        var w = foldedWeights
        for (m, b) in buckets { w[m, default: 0] += b.retainedEntries }
        return w.map { (minute: $0.key, weight: $0.value) }.sorted { $0.minute < $1.minute }
    }

    /// Splits event time into spans whose minutes hold at most `budget` entries together (a
    /// minute heavier than that is a span of its own). The first span starts at the beginning of
    /// time and the last ends at its end, so every event falls in exactly one.
    public static func slices(_ weights: [(minute: Int, weight: Int)], budget: Int) -> [Range<Int64>] {
        var bounds: [Int64] = []
        var held = 0
        for (i, w) in weights.enumerated() {
            if i > 0 && held + w.weight > budget {
                bounds.append(Int64(w.minute) * Detector.minuteNanos)
                held = 0
            }
            held += w.weight
        }
        var out: [Range<Int64>] = []
        var lo = Int64.min
        for b in bounds {
            out.append(lo..<b)
            lo = b
        }
        out.append(lo..<Int64.max)
        return out
    }

    /// The end of a span of event time read (`timeSlice`): evaluates its minutes and folds those
    /// no later window needs, as a batch in time order does when it folds.
    public func settle(before end: Int64) {
        guard firstMinute <= lastMinute, end != Int64.max else { return }
        fold(through: min(lastMinute, Detector.minute(end - 1)))
    }
}

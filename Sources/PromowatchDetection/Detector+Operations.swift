import PromowatchCore

// Operations detectors: failed saga compensations, latency and timeouts, database saturation.
extension Detector {
    func compensation(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        let cfg = config.compensationFailure
        var count = 0
        var traffic = 0
        for b in window(m, cfg.windowMinutes) {
            count += Int(b.compensation)
            traffic += b.traffic
        }
        guard count >= cfg.minFailures else { return }
        let rate = (past.compensation + 0.5) / (past.traffic + 1000)
        let expected = rate * Double(max(traffic, 1))
        let score = Stats.poissonTailScore(Double(count), expected: expected)
        guard score >= config.general.minScore else { return }
        mark(m, cfg.windowMinutes) { $0.compensation = true }
        emit(
            FindingDraft(
                category: .compensationFailure, severity: .p1, subject: Subject(), windowMinutes: cfg.windowMinutes,
                evidence: Evidence(
                    observed: Double(count), expected: expected, score: score,
                    counts: [("traffic", Double(traffic))]),
                summary: "\(count) failed saga compensations in \(cfg.windowMinutes) min (expected \(fmt(expected)))"),
            m, end, into: &out)
    }

    func latency(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        let cfg = config.latency
        var h = LatencyHistogram()
        var timeouts = 0
        var traffic = 0
        for b in window(m, cfg.windowMinutes) {
            h.merge(b.latency)
            timeouts += Int(b.timeouts)
            traffic += b.traffic
        }
        var p99 = 0.0
        var slow = false
        if h.total >= cfg.minRequests {
            p99 = h.quantile(0.99)
            slow = p99 > cfg.p99Ms && h.above(cfg.p99Ms) >= cfg.minSlow
        }
        let rate = (past.timeouts + 0.5) / (past.traffic + 100)
        let expectedTimeouts = rate * Double(max(traffic, 1))
        let tscore = Stats.poissonTailScore(Double(timeouts), expected: expectedTimeouts)
        let timeoutSurge = timeouts >= cfg.minTimeouts && tscore >= config.general.minScore
        guard slow || timeoutSurge else { return }
        if timeoutSurge { mark(m, cfg.windowMinutes) { $0.timeouts = true } }
        let sev: Severity = (p99 > cfg.p1Ms || timeoutSurge) ? .p1 : .p2
        let above = h.above(cfg.p99Ms)
        let score = slow ? Stats.poissonTailScore(Double(above), expected: 0.01 * Double(h.total)) : tscore
        let evidence = Evidence(
            observed: slow ? p99 : Double(timeouts), expected: slow ? cfg.p99Ms : expectedTimeouts,
            score: max(score, tscore),
            counts: [("p99_ms", p99), ("requests", Double(h.total)), ("timeouts", Double(timeouts))])
        let summary =
            slow
            ? "p99 latency \(Int(p99)) ms over \(h.total) requests in \(cfg.windowMinutes) min; \(timeouts) timeouts"
            : "\(timeouts) timeouts in \(cfg.windowMinutes) min (expected \(fmt(expectedTimeouts)))"
        emit(
            FindingDraft(
                category: .latency, severity: sev, subject: Subject(), windowMinutes: cfg.windowMinutes,
                evidence: evidence, summary: summary, remedy: .scaleOut), m, end, into: &out)
    }

    /// The latency window ending at `t` as the latency detector judges it (verify after a
    /// scale-out); nil when no request was seen in it.
    public func latencyReading(at t: Int64) -> LatencyReading? {
        let cfg = config.latency
        var h = LatencyHistogram()
        var timeouts = 0
        for b in window(Detector.minute(t), cfg.windowMinutes) {
            h.merge(b.latency)
            timeouts += Int(b.timeouts)
        }
        guard h.total > 0 || timeouts > 0 else { return nil }
        let p99 = h.total > 0 ? h.quantile(0.99) : 0
        let slow = h.total >= cfg.minRequests && p99 > cfg.p99Ms && h.above(cfg.p99Ms) >= cfg.minSlow
        return LatencyReading(
            p99Ms: p99, requests: h.total, timeouts: timeouts, degraded: slow || timeouts >= cfg.minTimeouts)
    }

    func dbSaturation(_ m: Int, _ end: Int64, _ out: inout [Finding]) {
        guard let b = buckets[m], Int(b.dbSaturation) >= config.dbSaturation.minEvents else { return }
        emit(
            FindingDraft(
                category: .dbSaturation, severity: .p1, subject: Subject(), windowMinutes: 1,
                evidence: Evidence(
                    observed: Double(b.dbSaturation), expected: 0,
                    score: Stats.poissonTailScore(Double(b.dbSaturation), expected: 0.01)),
                summary: "database connection slots exhausted: \(b.dbSaturation) 'too many clients' errors in 1 min",
                remedy: .relieveDatabase),
            m, end, into: &out)
    }
}

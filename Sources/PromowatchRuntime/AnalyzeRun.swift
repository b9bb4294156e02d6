import Foundation
import PromowatchCore
import PromowatchDecision
import PromowatchDiagnostics
import PromowatchEngine
import PromowatchMetrics
import PromowatchReport

#if canImport(Glibc)
    import Glibc
#endif

/// `promowatch analyze`: read everything, then evaluate every minute in time order (results do
/// not depend on line order), decide, act (dry run unless told), print findings and the summary.
public enum AnalyzeRun {
    public static func run(_ settings: RunSettings, inputs: [String]) throws -> RunResult {
        let config = try settings.loadConfig()
        let analyzer = Analyzer(options: settings.analyzerOptions(config))
        if settings.detect { analyzer.enableDetection(config) }
        var result = RunResult()
        let paths = inputs.isEmpty ? ["-"] : inputs
        let stdin = settings.detect ? StdinAgain(inputs: paths, config: config) : nil
        analyzer.stdinSpool = stdin?.spool
        if let progress = ProgressLine(inputs: paths, format: settings.format) {
            analyzer.afterBlock = {
                progress.update(position: analyzer.inputPosition, findings: analyzer.findingsSoFar)
            }
            for (i, path) in paths.enumerated() {
                progress.input = i
                if readAll([path], into: analyzer) { result.inputsFailed = true }
            }
            progress.finish()
        } else {
            result.inputsFailed = readAll(paths, into: analyzer)
        }
        analyzer.finish()
        let out = settings.output
        var summary = analyzer.summary()
        analyzer.stdinSpool = nil
        let again = SlicedReading.reread(analyzer, config: config, stdin: stdin)
        if let again {
            summary.lateEvents = again.detector.lateEvents
            summary.untrackedReusePairs = again.detector.untrackedReusePairs
            summary.timeSlices = again.slices
        } else if summary.lateEvents > 0, let why = stdin?.gaveUp {
            Stderr.write("promowatch: standard input was read once (\(why)): its late events stay late\n")
        }
        if let d = again?.detector ?? analyzer.detector {
            if out.format == .text { print("findings") }
            let found = d.finish().sorted { ($0.time, $0.category.rawValue) < ($1.time, $1.category.rawValue) }
            let remediator = try settings.remediator(config)
            let diagnostician = settings.diagnostician(config, remediator: remediator)
            remediator.latency = { d.latencyReading(at: $0) }
            var findings = DecisionStage(config: config.decision, scaleDeployment: config.actions.scaleDeployment)
                .review(diagnostician.diagnose(found))
            remediator.handle(&findings)
            remediator.advance(to: d.watermark)  // breaker trials due before the end of the input
            let incidents = IncidentTracker(gapMinutes: config.decision.incidentGapMinutes)
            incidents.episodes = { (d.episodeSpans, d.episodeSpansGeneration) }
            for i in findings.indices { incidents.assign(&findings[i]) }
            incidents.advance(to: d.watermark)
            if let path = settings.reportPath {
                var codes: [String] = []
                for f in findings {
                    if let c = f.subject.coupon, !codes.contains(c), codes.count < 6 { codes.append(c) }
                }
                let html = HTMLReport.render(
                    findings: findings, steps: remediator.steps, resolved: incidents.resolved,
                    summary: summary, series: d.series(coupons: codes))
                guard FileManager.default.createFile(atPath: path + ".tmp", contents: Data(html.utf8)),
                    rename(path + ".tmp", path) == 0
                else { throw RuntimeError("cannot write the report \(path)") }
            }
            out.timeline(findings, remediator.steps[...], incidents.resolved[...])
            if out.format == .text && findings.isEmpty { print("  (none)") }
            result.note(findings)
        }
        out.summary(summary)
        return result
    }
}

/// `promowatch watch`: follow a stream; each finding is printed within a second of the line that
/// raised it, and windows are still evaluated while input is idle.
public enum WatchRun {
    /// Every input is a regular file (or a gzip of one): a replay, read as fast as the disk allows,
    /// whose evaluation follows event time only, so its findings do not depend on the machine.
    static func isReplay(_ inputs: [String]) -> Bool {
        !inputs.isEmpty && inputs.allSatisfy(isRegularFile)
    }

    public static func run(_ settings: RunSettings, inputs: [String]) throws -> RunResult {
        let config = try settings.loadConfig()
        let analyzer = Analyzer(options: settings.analyzerOptions(config))
        analyzer.enableDetection(config, streaming: true)
        let out = settings.output
        let detector = analyzer.detector!
        let decision = DecisionStage(config: config.decision, scaleDeployment: config.actions.scaleDeployment)
        let remediator = try settings.remediator(config)
        let diagnostician = settings.diagnostician(config, remediator: remediator)
        remediator.latency = { detector.latencyReading(at: $0) }
        var result = RunResult()
        var lastEval = Analyzer.now()
        let incidents = IncidentTracker(gapMinutes: config.decision.incidentGapMinutes)
        incidents.episodes = { (detector.episodeSpans, detector.episodeSpansGeneration) }
        var printedSteps = 0
        var printedIncidents = 0
        var counters = RunCounters()
        var lastMetrics = 0.0
        let metrics = try settings.metricsServer()
        analyzer.collectsRunTotals = metrics != nil
        let providers = Set(config.actions.providerKeys.keys)
        let announcer = Announcer(config)
        let publish = { (force: Bool) in
            guard let m = metrics else { return }
            let t = Double(Analyzer.now()) / 1e9
            guard force || t - lastMetrics >= 1 else { return }
            lastMetrics = t
            counters.notificationDrops = announcer?.notifier.drops ?? 0
            let lag =
                detector.watermark == Int64.min ? nil : max(0, Double(Analyzer.now() - detector.watermark) / 1e9)
            m.update(
                MetricsText.render(
                    summary: analyzer.summary(), counters: counters, lagSeconds: lag, providers: providers))
        }
        let flush = {
            // "now" is never ahead of the clock: a line dated in the future evaluates nothing early
            var found = decision.review(
                diagnostician.diagnose(detector.evaluateLatest(upTo: Analyzer.now() + 120 * EventTime.nanosPerSecond)))
            remediator.handle(&found)
            remediator.advance(to: detector.watermark)
            for i in found.indices { incidents.assign(&found[i]) }
            incidents.advance(to: detector.watermark)
            out.timeline(found, remediator.steps[printedSteps...], incidents.resolved[printedIncidents...])
            for f in found { counters.note(f) }
            for s in remediator.steps[printedSteps...] { counters.note(s.action) }
            announcer?.findings(found)
            announcer?.resolved(incidents.resolved[printedIncidents...])
            announcer?.tick()
            printedSteps = remediator.steps.count
            printedIncidents = incidents.resolved.count
            result.note(found)
            fflush(stdout)
            lastEval = Analyzer.now()
            publish(false)
        }
        publish(true)  // the endpoint answers from the start
        // every few seconds of event time, so a log replayed from files is judged as it was
        // when live, at any speed; a live stream also on the clock (and while idle)
        analyzer.onEventTime(every: settings.evaluateEverySeconds, flush)
        if !WatchRun.isReplay(inputs) {
            analyzer.afterBlock = { if Analyzer.now() - lastEval >= 100_000_000 { flush() } }
            analyzer.onIdle(every: 200, flush)
        }
        result.inputsFailed = readAll(inputs.isEmpty ? ["-"] : inputs, into: analyzer)
        analyzer.finish()
        flush()
        announcer?.finish()
        publish(true)
        out.summary(analyzer.summary())
        metrics?.close()
        return result
    }
}

import Foundation
import PromowatchActions
import PromowatchCore
import PromowatchDecision
import PromowatchDiagnostics
import PromowatchEngine
import PromowatchKube
import PromowatchMetrics
import PromowatchStore

/// `promowatch cron`: one scheduled run. Takes the store's cron lock (an overlapping run exits
/// cleanly), continues from the previous run's detector state, skips events at or before each
/// source's checkpoint, acts with write-ahead intents (a crash after acting leaves a pending row
/// the next run recovers), and commits findings, the audit and new checkpoints in one transaction.
public enum CronRun {
    /// The detector snapshot that carries history from one run to the next.
    static let stateName = "cron"
    static let lockName = "promowatch-cron"

    /// `from` empty: the logs of the pods matching `selector` in `actions.namespace`, through the API.
    public static func run(_ settings: RunSettings, from: [String], selector: String, store location: StoreLocation)
        throws -> RunResult
    {
        let config = try settings.loadConfig()
        let st = try location.open()
        guard try st.tryLock(lockName) else {
            print("promowatch cron: another run holds the lock; nothing to do")
            return RunResult()
        }
        defer { try? st.unlock(lockName) }
        let runID = try st.beginRun(startedAt: Analyzer.now(), actor: actor("cron"))
        do {
            let result = try once(settings, config, from: from, selector: selector, store: st, runID: runID)
            try st.finishRun(runID, finishedAt: Analyzer.now(), status: result.inputsFailed ? "input errors" : "ok")
            return result
        } catch {
            try? st.finishRun(runID, finishedAt: Analyzer.now(), status: "failed")
            throw error
        }
    }

    private static func once(
        _ settings: RunSettings, _ config: DetectionConfig, from: [String], selector: String,
        store st: StateStore, runID: Int64
    ) throws -> RunResult {
        let analyzer = Analyzer(options: settings.analyzerOptions(config))
        analyzer.collectsRunTotals = settings.metricsTextfile != nil
        analyzer.enableDetection(config)
        let detector = analyzer.detector!
        // continue from the previous run: baselines, warm-up, first-seen accounts, open episodes
        if let state = try st.detectorState(stateName) {
            do { try detector.restore(state) } catch {
                Stderr.write("promowatch cron: \(error); starting without history\n")
            }
        }
        analyzer.checkpoints = try st.checkpoints()
        analyzer.trackSources = true
        if from.isEmpty {
            try readPodLogs(into: analyzer, settings: settings, config: config, selector: selector)
        }
        var result = RunResult()
        result.inputsFailed = readAll(from, into: analyzer)
        analyzer.finish()
        let remediator = try settings.remediator(config)
        let diagnostician = settings.diagnostician(config, remediator: remediator)
        remediator.latency = { detector.latencyReading(at: $0) }
        var findings = DecisionStage(config: config.decision, scaleDeployment: config.actions.scaleDeployment).review(
            diagnostician.diagnose(detector.finish()))
        try remediator.remember(from: st)
        var commit = RunCommit(runID: runID)
        let acting = settings.actionMode != .dryRun
        for i in findings.indices {
            let fp = findings[i].fingerprint
            guard let proposed = findings[i].action else {
                // no action of its own, but its runbook hooks (steps) run once, like actions
                if try !st.hasFinding(fp) {
                    remediator.handle(
                        &findings[i], index: i,
                        failingProviders: remediator.failingProviders(at: findings[i].time, in: findings))
                }
                continue
            }
            if try st.hasFinding(fp) {
                // an earlier run recorded this finding and its action: never act twice on the same evidence
                findings[i].action?.outcome = .skipped("handled by an earlier run")
                continue
            }
            var intent: Int64? = nil
            var recovering = false
            if acting {
                // write-ahead: a crash after acting leaves this pending row for the next run
                if let pending = try st.pendingIntent(
                    fingerprint: fp, kind: proposed.kind.rawValue, target: proposed.target)
                {
                    intent = pending.id
                    recovering = true
                } else {
                    var pending = ActionRecord(finding: findings[i], action: proposed, change: nil, runID: runID)
                    pending.dryRun = false
                    pending.outcome = "pending"
                    intent = try st.recordIntent(pending)
                }
            }
            remediator.auditID = intent
            remediator.handle(
                &findings[i], index: i,
                failingProviders: remediator.failingProviders(at: findings[i].time, in: findings),
                recovering: recovering)
            remediator.auditID = nil
            var record = ActionRecord(
                finding: findings[i], action: findings[i].action!,
                change: remediator.changes.first { $0.finding == i }, runID: runID)
            if let id = intent {
                record.id = id
                commit.completions.append(record)
            } else {
                commit.actions.append(record)
            }
        }
        remediator.advance(to: detector.watermark)
        commit.actions += remediator.steps.map { ActionRecord(step: $0, runID: runID) }
        let incidents = IncidentTracker(gapMinutes: config.decision.incidentGapMinutes)
        // incidents an earlier run left open continue here under their ids
        incidents.resume(try st.incidents(limit: 500).compactMap(\.openEvent))
        incidents.episodes = { (detector.episodeSpans, detector.episodeSpansGeneration) }
        for i in findings.indices { incidents.assign(&findings[i]) }
        incidents.advance(to: detector.watermark)
        commit.incidents = incidents.all.map { IncidentRecord(event: $0, runID: runID) }
        // announced once: findings an earlier run recorded were announced by it
        let announce = try findings.filter { try !st.hasFinding($0.fingerprint) }
        commit.findings = findings
        commit.checkpoints = analyzer.latest
        commit.detectorState = (stateName, detector.snapshot())
        commit.baselines = detector.baselineRows()
        let new = try st.commit(commit)
        if let a = Announcer(config) {
            for r in commit.completions + commit.actions where r.id > 0 { a.auditIDs[r.findingFingerprint] = r.id }
            a.findings(announce)
            a.resolved(incidents.resolved)
            a.finish()
        }
        let out = settings.output
        out.timeline(findings, remediator.steps[...], incidents.resolved[...])
        out.summary(analyzer.summary())
        result.note(findings)
        if let path = settings.metricsTextfile {
            var counters = RunCounters()
            for f in findings { counters.note(f) }
            for s in remediator.steps { counters.note(s.action) }
            try MetricsFile.write(
                MetricsText.render(
                    summary: analyzer.summary(), counters: counters, lagSeconds: nil,
                    providers: Set(config.actions.providerKeys.keys)), to: path)
        }
        Stderr.write(
            "promowatch cron: run \(runID): \(new) new findings, \(commit.actions.count + commit.completions.count) actions recorded, \(analyzer.alreadySeen) events already seen\n"
        )
        return result
    }

    /// Every container of every matching pod, from one second before its checkpoint (the API takes
    /// whole seconds); lines at or before the checkpoint are dropped by the analyzer. Each line is
    /// given the `[pod/<pod>/<container>]` prefix, so checkpoints are kept per source.
    static func readPodLogs(into analyzer: Analyzer, settings: RunSettings, config: DetectionConfig, selector: String)
        throws
    {
        let client = try settings.kubeClient()
        let ns = config.actions.namespace
        for pod in try client.listPods(namespace: ns, selector: selector) {
            for container in pod.containers {
                let source = "pod/\(pod.name)/\(container)"
                let since = analyzer.checkpoints[source].map {
                    EventTime.rfc3339(($0 / EventTime.nanosPerSecond - 1) * EventTime.nanosPerSecond)
                }
                let log = try client.podLog(namespace: ns, pod: pod.name, container: container, sinceTime: since)
                let prefix = Array("[\(source)] ".utf8)
                var block: [UInt8] = []
                block.reserveCapacity(log.count + 64)
                for line in log.split(separator: 0x0A, omittingEmptySubsequences: true) {
                    block += prefix
                    block += line
                    block.append(0x0A)
                }
                block.withUnsafeBufferPointer { analyzer.process($0) }
            }
        }
    }
}

extension IncidentRecord {
    /// An incident as the tracker knows it at the end of a run (or a leader's snapshot).
    init(event e: IncidentEvent, runID: Int64) {
        self.init(
            id: e.ref.id, root: e.ref.root.rawValue, severity: e.severity.name, opened: e.opened,
            updated: e.updated, resolved: e.ref.state == .resolved ? e.time : nil,
            findings: e.findings, runID: runID, causeKey: e.key)
    }

    /// The stored incident as the tracker resumes it: nil when resolved, unknown in kind, or
    /// stored before its cause was.
    var openEvent: IncidentEvent? {
        guard resolved == nil, !causeKey.isEmpty, let root = Category(rawValue: root),
            let sev = Severity(name: severity)
        else { return nil }
        return IncidentEvent(
            time: updated, ref: IncidentRef(id: id, state: .updated, root: root), severity: sev, opened: opened,
            updated: updated, findings: findings, key: causeKey)
    }
}

extension ActionRecord {
    /// The audit row of a circuit breaker's step, tied to the finding whose switch it follows up.
    init(step s: ActionStep, runID: Int64) {
        self.init(
            time: s.time, kind: s.action.kind.rawValue, target: s.action.target, key: "", before: nil, after: nil,
            dryRun: !s.action.applied, outcome: s.action.outcome?.description ?? "", findingFingerprint: s.cause,
            runID: runID)
    }

    /// The audit row of one action attempt on a finding (`change`: what it wrote, if anything).
    init(finding f: Finding, action a: ProposedAction, change: Remediator.Change?, runID: Int64) {
        self.init(
            time: f.time, kind: a.kind.rawValue, target: a.target, key: change?.key ?? "", before: change?.before,
            after: change?.after, dryRun: !a.applied, outcome: a.outcome?.description ?? "",
            findingFingerprint: f.fingerprint, runID: runID)
    }
}

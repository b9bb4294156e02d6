import Foundation
import PromowatchActions
import PromowatchCore
import PromowatchDecision
import PromowatchDetection
import PromowatchDiagnostics
import PromowatchEngine
import PromowatchMetrics
import PromowatchStore

/// `watch --shared`: several instances (one per node, say) each read part of the logs and publish
/// per-minute partial aggregates to PostgreSQL; the instance holding the group's lock (the
/// leader) merges them, runs detection and acts. The leader evaluates only up to the oldest
/// watermark of the instances still sending, so its findings are those of one instance reading
/// everything. If the leader goes away, its session lock is released and another instance takes
/// over from the last snapshot and the partials published since.
final class SharedWatch {
    let store: SharedStore
    let group: String
    let instance: String
    let config: DetectionConfig
    let aggregator: Detector
    let decision: DecisionStage
    let remediator: Remediator
    let incidents: IncidentTracker
    let out: Output
    /// The merged detector, while this instance leads.
    private(set) var merged: Detector?
    private var runID: Int64 = 0
    private var lastPublish = 0.0
    private var lastSnapshot = 0.0
    private let diagnostician: Diagnostician
    /// Incidents announced by whichever instance leads (`notifications:`).
    let announcer: Announcer?
    /// What the leader decided, for this instance's metrics.
    private(set) var counters = RunCounters()
    private var unrecorded: [Finding] = []
    private var audit: [ActionRecord] = []
    var lockName: String { "promowatch-shared-" + group }
    var stateName: String { "shared:" + group }
    static let publishEvery = 1.0
    static let snapshotEvery = 60.0

    init(
        store: SharedStore, group: String, instance: String, config: DetectionConfig, aggregator: Detector,
        remediator: Remediator, diagnostician: Diagnostician, out: Output
    ) throws {
        self.store = store
        self.group = group
        self.instance = instance
        self.config = config
        self.aggregator = aggregator
        self.decision = DecisionStage(config: config.decision, scaleDeployment: config.actions.scaleDeployment)
        self.remediator = remediator
        self.diagnostician = diagnostician
        self.announcer = Announcer(config)
        self.incidents = IncidentTracker(gapMinutes: config.decision.incidentGapMinutes)
        self.out = out
        incidents.episodes = { [weak self] in
            (self?.merged?.episodeSpans ?? [], self?.merged?.episodeSpansGeneration ?? 0)
        }
        aggregator.trackPartials()
        // registers
        try store.publish(group: group, instance: instance, partials: [], watermark: Int64.min, done: false)
        try lead(final: false)  // the first instance leads from the start
    }

    private static func seconds() -> Double { Double(Analyzer.now()) / 1e9 }

    /// Called often (after blocks, while idle): publishes at most once a second, then leads if it can.
    func tick() throws {
        let now = SharedWatch.seconds()
        guard now - lastPublish >= SharedWatch.publishEvery else { return }
        lastPublish = now
        try attempt(done: false)
    }

    /// End of this instance's input: publish the rest; the leader then waits for the others to
    /// finish, evaluates everything and saves its state.
    func finish() throws {
        repeat {
            try attempt(done: true)
            if failingSince != nil { Thread.sleep(forTimeInterval: 1) }
        } while failingSince != nil
        while merged != nil,
            (try? store.members(group: group)).map({ SharedMember.othersRunning($0, except: instance) }) ?? true
        {
            Thread.sleep(forTimeInterval: 0.2)
            try attempt(done: true)  // heartbeat, merge, evaluate
        }
        if merged != nil { try lead(final: true) }
    }

    /// Partials not yet published (kept while the server is away, at most `giveUpAfter` seconds' worth).
    private var unsent: [[UInt8]] = []
    private var failingSince: Double?
    static let giveUpAfter = 60.0

    /// Publishes what is new and leads. When PostgreSQL goes away: the partials are kept, the
    /// leadership is given up (the session lock went with the connection; another instance may
    /// take over from the stored state), and the next attempt reconnects. After `giveUpAfter`
    /// seconds of failures it throws: the instance exits with the error.
    private func attempt(done: Bool) throws {
        if let p = aggregator.takePartial() { unsent.append(p) }
        do {
            if failingSince != nil { try store.reconnect() }
            try store.publish(
                group: group, instance: instance, partials: unsent, watermark: aggregator.watermark, done: done)
            unsent.removeAll()
            try lead(final: false)
            if failingSince != nil {
                Stderr.write("promowatch watch --shared: PostgreSQL is back\n")
                failingSince = nil
            }
        } catch let error as StoreError where error.isConnectionLost {
            let now = SharedWatch.seconds()
            if failingSince == nil {
                failingSince = now
                Stderr.write("promowatch watch --shared: \(error); retrying for \(Int(SharedWatch.giveUpAfter)) s\n")
            }
            if merged != nil {
                merged = nil
                unrecorded = []
                audit = []
                try? store.unlock(lockName)
                Stderr.write("promowatch watch --shared: \(instance) stops leading group \(group)\n")
            }
            if now - failingSince! >= SharedWatch.giveUpAfter { throw error }
        }
    }

    private func lead(final: Bool) throws {
        if merged == nil {
            guard try store.tryLock(lockName) else { return }
            let d = Detector(config: config, coupons: SymbolTable(), providers: SymbolTable())
            d.streaming = true
            if let state = try store.detectorState(stateName) {
                do { try d.restore(state) } catch {
                    Stderr.write("promowatch watch --shared: \(error); leading without history\n")
                }
            }
            // partials taken by an earlier leader after its last snapshot count again
            for p in try store.takePartials(group: group, includingTaken: true) { try absorb(d, p) }
            try remediator.remember(from: store)
            runID = try store.beginRun(startedAt: Analyzer.now(), actor: "watch --shared \(instance) (group \(group))")
            merged = d
            remediator.latency = { d.latencyReading(at: $0) }
            lastSnapshot = SharedWatch.seconds()
            Stderr.write("promowatch watch --shared: \(instance) leads group \(group)\n")
        }
        guard let d = merged else { return }
        // watermarks first, then partials: a partial and its watermark are published together, so
        // everything up to the watermarks read is among the partials taken after
        let gate = final ? nil : SharedMember.gate(try store.members(group: group))
        for p in try store.takePartials(group: group, includingTaken: false) { try absorb(d, p) }
        act(gate == Int64.min ? [] : d.evaluateLatest(upTo: gate))
        if final || SharedWatch.seconds() - lastSnapshot >= SharedWatch.snapshotEvery { try save(final: final) }
    }

    private func absorb(_ d: Detector, _ partial: [UInt8]) throws {
        do { try d.absorb(partial) } catch {
            Stderr.write("promowatch watch --shared: skipped a partial: \(error)\n")
        }
    }

    private func act(_ raised: [Finding]) {
        var found = decision.review(diagnostician.diagnose(raised))
        guard !found.isEmpty else { return }
        let before = remediator.changes.count
        let stepsBefore = remediator.steps.count
        remediator.handle(&found)
        remediator.advance(to: found.last?.time ?? Int64.min)
        let changes = remediator.changes[before...]
        let resolvedBefore = incidents.resolved.count
        for i in found.indices { incidents.assign(&found[i]) }
        out.timeline(found, remediator.steps[stepsBefore...], incidents.resolved[resolvedBefore...])
        for f in found { counters.note(f) }
        for s in remediator.steps[stepsBefore...] { counters.note(s.action) }
        announcer?.findings(found)
        announcer?.resolved(incidents.resolved[resolvedBefore...])
        announcer?.tick()
        audit += remediator.steps[stepsBefore...].map { ActionRecord(step: $0, runID: runID) }
        for (i, f) in found.enumerated() {
            guard let a = f.action else { continue }
            let change = changes.first { $0.finding == i }
            audit.append(ActionRecord(finding: f, action: a, change: change, runID: runID))
        }
        fflush(stdout)
        unrecorded += found
    }

    /// Findings, actions, the snapshot and the removal of the partials it contains: one transaction.
    private func save(final: Bool) throws {
        guard let d = merged else { return }
        var c = RunCommit(runID: runID)
        c.findings = unrecorded
        c.incidents = incidents.all.map { IncidentRecord(event: $0, runID: runID) }
        c.actions = audit
        c.detectorState = (stateName, d.snapshot())
        c.baselines = d.baselineRows()
        c.consumedPartialsOf = group
        try store.commit(c)
        unrecorded = []
        audit = []
        lastSnapshot = SharedWatch.seconds()
        if final {
            try store.finishRun(runID, finishedAt: Analyzer.now(), status: "ok")
            try store.unlock(lockName)
        }
    }
}

/// `promowatch watch --shared`: this instance reads its inputs and publishes; whichever instance
/// holds the group's lock detects and acts for all.
public enum SharedWatchRun {
    public static func run(
        _ settings: RunSettings, inputs: [String], store location: StoreLocation,
        group: String, instance: String?
    ) throws -> RunResult {
        let config = try settings.loadConfig()
        guard let st = try location.open() as? SharedStore else {
            throw RuntimeError("--shared needs PostgreSQL: give --database-url or set PROMOWATCH_DATABASE_URL")
        }
        var options = settings.analyzerOptions(config)
        options.detectionThread = false  // the coordinator reads the detector as events arrive
        let analyzer = Analyzer(options: options)
        analyzer.enableDetection(config)
        analyzer.orderIndependent = false  // partials are published as they fill: decide the trace rule at once
        let out = settings.output
        let name = instance ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        let remediator = try settings.remediator(config)
        let coordinator = try SharedWatch(
            store: st, group: group, instance: name, config: config, aggregator: analyzer.detector!,
            remediator: remediator, diagnostician: settings.diagnostician(config, remediator: remediator), out: out)
        let metrics = try settings.metricsServer()
        analyzer.collectsRunTotals = metrics != nil
        var lastMetrics = 0.0
        let providers = Set(config.actions.providerKeys.keys)
        let publish = {
            guard let m = metrics, Double(Analyzer.now()) / 1e9 - lastMetrics >= 1 else { return }
            lastMetrics = Double(Analyzer.now()) / 1e9
            var c = coordinator.counters
            c.notificationDrops = coordinator.announcer?.notifier.drops ?? 0
            let w = analyzer.detector!.watermark
            m.update(
                MetricsText.render(
                    summary: analyzer.summary(), counters: c,
                    lagSeconds: w == Int64.min ? nil : max(0, Double(Analyzer.now() - w) / 1e9), providers: providers))
        }
        publish()
        let tick = {
            publish()
            do { try coordinator.tick() } catch {
                // PostgreSQL has been away for a minute, or failed otherwise: stop (a supervisor restarts the instance)
                Stderr.write("promowatch watch --shared: giving up: \(error)\n")
                exit(ExitStatus.failure)
            }
        }
        analyzer.afterBlock = tick
        analyzer.onIdle(every: 200, tick)
        var result = RunResult()
        result.inputsFailed = readAll(inputs.isEmpty ? ["-"] : inputs, into: analyzer)
        analyzer.finish()
        try coordinator.finish()
        coordinator.announcer?.finish()
        out.summary(analyzer.summary())
        metrics?.close()
        return result
    }
}

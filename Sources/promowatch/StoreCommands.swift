import ArgumentParser
import Foundation
import PromowatchActions
import PromowatchCore
import PromowatchEngine
import PromowatchKube
import PromowatchReport
import PromowatchStore

/// Where state lives: PostgreSQL (`--database-url` / `PROMOWATCH_DATABASE_URL`) or the embedded
/// default, a local directory.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URI or keyword string (default: $PROMOWATCH_DATABASE_URL; none: the embedded store).")
    var databaseURL: String?

    @Option(name: .customLong("state-dir"), help: "Directory of the embedded store (default: $PROMOWATCH_STATE_DIR, else ~/.local/state/promowatch).")
    var stateDir: String?

    func open() throws -> StateStore {
        let env = ProcessInfo.processInfo.environment
        let url = databaseURL ?? env["PROMOWATCH_DATABASE_URL"]
        let dir = stateDir ?? env["PROMOWATCH_STATE_DIR"] ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.local/state/promowatch")
        let store = try openStore(databaseURL: url, stateDirectory: dir)
        try store.migrate()
        return store
    }
}

struct Cron: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One scheduled run: read logs since the last checkpoint, detect, act, record — once.",
        discussion: """
        Takes the store's cron lock (an overlapping run exits cleanly), skips events at or before
        each source's checkpoint, and commits findings, the action audit and new checkpoints in one
        transaction. Without --from it lists the pods matching --selector in actions.namespace and
        reads each container's log through the API from one second before its checkpoint.

        Examples:
          kubectl logs -l app=checkout --prefix --timestamps --since=10m | promowatch cron --from -
          promowatch cron --from /var/log/checkout.log --database-url postgresql:///promowatch --apply
        """
    )

    @Option(name: .customLong("from"), help: "Log file to read ('-' = standard input). Repeatable. Default: pod logs through the API.")
    var from: [String] = []

    @Option(help: "Label selector of the checkout pods (API mode).")
    var selector = "app=checkout"

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: CommonOptions

    func run() throws {
        let config = try options.detectionConfig()
        let st = try store.open()
        guard try st.tryLock("promowatch-cron") else {
            print("promowatch cron: another run holds the lock; nothing to do")
            return
        }
        defer { try? st.unlock("promowatch-cron") }
        let runID = try st.beginRun(startedAt: Analyzer.now(), actor: actor("cron"))
        do {
            let analyzer = Analyzer(options: options.analyzerOptions(config))
            analyzer.enableDetection(config)
            // continue from the previous run: baselines, warm-up, first-seen accounts, open episodes
            if let state = try st.detectorState(Cron.stateName) {
                do { try analyzer.detector!.restore(state) } catch {
                    Stderr.write("promowatch cron: \(error); starting without history\n")
                }
            }
            analyzer.checkpoints = try st.checkpoints()
            analyzer.trackSources = true
            if from.isEmpty {
                try readPodLogs(into: analyzer, config: config)
            }
            let failed = readAll(from, into: analyzer)
            analyzer.finish()
            var findings = analyzer.detector!.finish()
            let remediator = try options.remediator(config)
            try remediator.remember(from: st)
            var commit = RunCommit(runID: runID)
            let acting = options.apply || options.serverDryRun
            for i in findings.indices {
                guard let proposed = findings[i].action else { continue }
                let fp = findings[i].fingerprint
                if try st.hasFinding(fp) {
                    // an earlier run recorded this finding and its action: never act twice on the same evidence
                    findings[i].action?.outcome = "skipped: handled by an earlier run"
                    continue
                }
                var intent: Int64? = nil
                var recovering = false
                if acting {
                    // write-ahead: a crash after acting leaves this pending row for the next run
                    if let pending = try st.pendingIntent(fingerprint: fp, kind: proposed.kind.rawValue, target: proposed.target) {
                        intent = pending.id; recovering = true
                    } else {
                        intent = try st.recordIntent(ActionRecord(time: findings[i].time, kind: proposed.kind.rawValue, target: proposed.target, key: "",
                                                                  before: nil, after: nil, dryRun: false, outcome: "pending", findingFingerprint: fp, runID: runID))
                    }
                }
                remediator.handle(&findings[i], index: i, failingProviders: remediator.failingProviders(at: findings[i].time, in: findings),
                                  recovering: recovering)
                let a = findings[i].action!
                let change = remediator.changes.first { $0.finding == i }
                var record = ActionRecord(time: findings[i].time, kind: a.kind.rawValue, target: a.target, key: change?.key ?? "",
                                          before: change?.before, after: change?.after, dryRun: !a.applied,
                                          outcome: a.outcome ?? "", findingFingerprint: fp, runID: runID)
                if let id = intent { record.id = id; commit.completions.append(record) } else { commit.actions.append(record) }
            }
            commit.findings = findings
            commit.checkpoints = analyzer.latest
            commit.detectorState = (Cron.stateName, analyzer.detector!.snapshot())
            commit.baselines = analyzer.detector!.baselineRows()
            let new = try st.commit(commit)
            try st.finishRun(runID, finishedAt: Analyzer.now(), status: failed ? "input errors" : "ok")
            let out = Output(format: options.resolvedFormat, top: options.top)
            for f in findings { out.finding(f) }
            out.summary(analyzer.summary())
            Stderr.write("promowatch cron: run \(runID): \(new) new findings, \(commit.actions.count + commit.completions.count) actions recorded, \(analyzer.alreadySeen) events already seen\n")
            if failed { throw ExitCode(1) }
        } catch let e as ExitCode {
            throw e
        } catch {
            try? st.finishRun(runID, finishedAt: Analyzer.now(), status: "failed")
            throw error
        }
    }
}

extension Cron {
    /// The detector snapshot that carries history from one run to the next.
    static let stateName = "cron"

    /// Every container of every matching pod, from one second before its checkpoint (the API takes
    /// whole seconds); lines at or before the checkpoint are dropped by the analyzer. Each line is
    /// given the `[pod/<pod>/<container>]` prefix, so checkpoints are kept per source.
    func readPodLogs(into analyzer: Analyzer, config: DetectionConfig) throws {
        let client = try KubeClient(auth: options.kubeAuth())
        let ns = config.actions.namespace
        for pod in try client.listPods(namespace: ns, selector: selector) {
            for container in pod.containers {
                let source = "pod/\(pod.name)/\(container)"
                let since = analyzer.checkpoints[source].map { EventTime.rfc3339(($0 / EventTime.nanosPerSecond - 1) * EventTime.nanosPerSecond) }
                let log = try client.podLog(namespace: ns, pod: pod.name, container: container, sinceTime: since)
                let prefix = Array("[\(source)] ".utf8)
                var block: [UInt8] = []
                block.reserveCapacity(log.count + 64)
                for line in log.split(separator: 0x0A, omittingEmptySubsequences: true) {
                    block += prefix; block += line; block.append(0x0A)
                }
                block.withUnsafeBufferPointer { analyzer.process($0) }
            }
        }
    }
}

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Recent findings and actions from the store.")

    @Option(help: "How many of each to show.") var limit = 20
    @Option(help: "json or text (default: text on a terminal).") var format: OutputFormat?
    @Flag(help: "Show the stored hour-of-day baselines instead (per coupon and per provider).") var baselines = false
    @OptionGroup var store: StoreOptions

    func run() throws {
        let st = try store.open()
        if baselines { return try showBaselines(st) }
        let findings = try st.findings(limit: limit)
        let actions = try st.actions(limit: limit)
        if (format ?? (isatty(1) != 0 ? .text : .json)) == .json {
            for f in findings {
                print("{\"finding\": {\"time\": \(JSONText.quoted(EventTime.rfc3339(f.time))), \"category\": \(JSONText.quoted(f.category)), \"severity\": \(JSONText.quoted(f.severity)), \"subject\": \(JSONText.quoted(f.subject)), \"summary\": \(JSONText.quoted(f.summary)), \"fingerprint\": \(JSONText.quoted(f.fingerprint)), \"run\": \(f.runID)}}")
            }
            for a in actions {
                print("{\"action\": {\"id\": \(a.id), \"time\": \(JSONText.quoted(EventTime.rfc3339(a.time))), \"kind\": \(JSONText.quoted(a.kind)), \"target\": \(JSONText.quoted(a.target)), \"key\": \(JSONText.quoted(a.key)), \"before\": \(a.before.map(JSONText.quoted) ?? "null"), \"after\": \(a.after.map(JSONText.quoted) ?? "null"), \"dry_run\": \(a.dryRun), \"outcome\": \(JSONText.quoted(a.outcome)), \"run\": \(a.runID), \"actor\": \(JSONText.quoted(a.actor))}}")
            }
        } else {
            print("findings (newest first)")
            for f in findings { print("  " + EventTime.rfc3339(f.time) + "  " + f.severity + "  " + f.category + "  " + TerminalText.safe(f.subject, maxLength: 100) + "\n      " + TerminalText.safe(f.summary, maxLength: 200)) }
            print("\nactions (newest first)")
            for a in actions {
                print("  #\(a.id)  " + EventTime.rfc3339(a.time) + "  " + a.kind + " " + TerminalText.safe(a.target, maxLength: 64) + "  " + TerminalText.safe(a.outcome, maxLength: 200)
                      + "  (run \(a.runID)" + (a.actor.isEmpty ? "" : ", " + TerminalText.safe(a.actor, maxLength: 100)) + ")")
                if let b = a.before { print("      \(TerminalText.safe(a.key, maxLength: 64)): \(TerminalText.safe(b, maxLength: 200)) -> \(TerminalText.safe(a.after ?? "", maxLength: 200))") }
            }
        }
    }
}

extension History {
    func showBaselines(_ st: StateStore) throws {
        let rows = try st.baselines(limit: 1_000_000)
        let json = (format ?? (isatty(1) != 0 ? .text : .json)) == .json
        if !json { print("baselines by hour of day (UTC): count / traffic summed over the days seen") }
        for r in rows {
            let hour = String(format: "%02d:%02d", r.minuteOfDay / 60, r.minuteOfDay % 60)
            let rate = r.traffic > 0 ? r.count / r.traffic : 0
            if json {
                print("{\"baseline\": {\"scope\": \(JSONText.quoted(r.scope)), \"name\": \(JSONText.quoted(r.name)), \"hour\": \"\(hour)\", \"count\": \(r.count), \"traffic\": \(r.traffic), \"rate\": \(rate)}}")
            } else {
                print("  \(r.scope)  \(TerminalText.safe(r.name, maxLength: 64))  \(hour)  \(Int(r.count)) / \(Int(r.traffic))  (\(String(format: "%.4f", rate)))")
            }
        }
    }
}

struct Rollback: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore the value an audited action replaced, unless someone changed it since.",
        discussion: "Example: promowatch rollback 42 --apply --kubeconfig ~/.kube/config")

    @Argument(help: "The action's id (see `promowatch history`).") var id: Int64
    @OptionGroup var store: StoreOptions
    @OptionGroup var options: CommonOptions

    func run() throws {
        let st = try store.open()
        guard let a = try st.action(id: id) else { throw ValidationError("no action #\(id) in the store") }
        guard !a.key.isEmpty, let after = a.after, !a.dryRun else { throw ValidationError("action #\(id) changed nothing: nothing to roll back") }
        let config = try options.detectionConfig()
        let client = try KubeClient(auth: options.kubeAuth())
        let ns = config.actions.namespace, name = config.actions.configMap
        let cm = try client.getConfigMap(namespace: ns, name: name)
        guard cm.data[a.key] == after else {
            throw ValidationError("refusing: \(a.key) changed since action #\(id) (now \(TerminalText.safe(cm.data[a.key] ?? "<unset>", maxLength: 200)))")
        }
        let restore = a.before ?? ""
        let patch = a.before == nil ? "{\"metadata\":{\"resourceVersion\":\(JSONText.quoted(cm.resourceVersion))},\"data\":{\(JSONText.quoted(a.key)):null}}"
            : ConfigMapEdits.mergePatch([a.key: restore], resourceVersion: cm.resourceVersion)
        if !options.apply {
            print("dry run: would restore \(a.key) to \(TerminalText.safe(restore, maxLength: 200)) (use --apply)")
            return
        }
        try client.patchConfigMap(namespace: ns, name: name, mergePatch: patch)
        let run = try st.beginRun(startedAt: Analyzer.now(), actor: actor("rollback"))
        var c = RunCommit(runID: run)
        c.actions = [ActionRecord(time: Analyzer.now(), kind: "rollback", target: "#\(id)", key: a.key, before: after, after: a.before,
                                  dryRun: false, outcome: "applied", findingFingerprint: a.findingFingerprint, runID: run)]
        try st.commit(c)
        try st.finishRun(run, finishedAt: Analyzer.now(), status: "ok")
        print("restored \(a.key) to \(TerminalText.safe(restore, maxLength: 200))")
    }
}

extension Remediator {
    /// The guardrails remember what earlier runs applied (from the audit), so caps, cooldowns and
    /// provider holds span runs and leaders.
    func remember(from st: StateStore) throws {
        for a in try st.actions(limit: 1000) where !a.dryRun && a.outcome.hasPrefix("applied") {
            if let kind = ProposedAction.Kind(rawValue: a.kind) { guardrails.remember(kind: kind, target: a.target, at: a.time) }
        }
    }
}

/// Who a run is, for the audit: the command and the host (in Kubernetes, the pod's name).
func actor(_ command: String) -> String {
    "\(command)@\(ProcessInfo.processInfo.hostName)"
}

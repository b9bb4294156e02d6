import Foundation
import PromowatchActions
import PromowatchCore
import PromowatchEngine
import PromowatchKube
import PromowatchReport
import PromowatchStore

/// `promowatch history`: recent findings and actions (or the hour-of-day baselines) from the store.
public enum HistoryRun {
    public static func run(store location: StoreLocation, limit: Int, format: OutputFormat?, baselines: Bool) throws {
        let st = try location.open()
        let json = OutputFormat.resolve(format) == .json
        if baselines {
            if !json { print("baselines by hour of day (UTC): count / traffic summed over the days seen") }
            for r in try st.baselines(limit: 1_000_000) { print(json ? HistoryReport.json(r) : HistoryReport.text(r)) }
            return
        }
        let findings = try st.findings(limit: limit)
        let actions = try st.actions(limit: limit)
        let incidents = try st.incidents(limit: limit)
        if json {
            for i in incidents { print(HistoryReport.json(i)) }
            for f in findings { print(HistoryReport.json(f)) }
            for a in actions { print(HistoryReport.json(a)) }
            return
        }
        print("incidents (newest first)")
        for i in incidents { print(HistoryReport.text(i)) }
        print("\nfindings (newest first)")
        for f in findings { print(HistoryReport.text(f)) }
        print("\nactions (newest first)")
        for a in actions { print(HistoryReport.text(a)) }
    }
}

/// Stored findings, actions and baselines as JSON lines or text; every value from a log escaped.
enum HistoryReport {
    static func json(_ f: StoredFinding) -> String {
        var o = JSONObject()
        o.add("time", EventTime.rfc3339(f.time))
        o.add("category", f.category)
        o.add("severity", f.severity)
        o.add("subject", f.subject)
        o.add("summary", f.summary)
        o.add("fingerprint", f.fingerprint)
        o.add("incident", f.incident)
        o.add("run", f.runID)
        return "{\"finding\": \(o.text)}"
    }

    static func json(_ i: IncidentRecord) -> String {
        var o = JSONObject()
        o.add("id", i.id)
        o.add("state", i.resolved == nil ? "open" : "resolved")
        o.add("root", i.root)
        o.add("severity", i.severity)
        o.add("opened", EventTime.rfc3339(i.opened))
        o.add("updated", EventTime.rfc3339(i.updated))
        o.add("resolved", i.resolved.map { EventTime.rfc3339($0) })
        o.add("findings", Int64(i.findings))
        o.add("run", i.runID)
        return "{\"incident\": \(o.text)}"
    }

    static func text(_ i: IncidentRecord) -> String {
        "  \(TerminalText.safe(i.id, maxLength: 20))  \(TerminalText.safe(i.severity, maxLength: 4))  "
            + "\(TerminalText.safe(i.root, maxLength: 40))  \(EventTime.rfc3339(i.opened)) .. "
            + (i.resolved.map { "resolved \(EventTime.rfc3339($0))" } ?? "open, last \(EventTime.rfc3339(i.updated))")
            + "  (\(i.findings) finding(s), run \(i.runID))"
    }

    static func json(_ a: ActionRecord) -> String {
        var o = JSONObject()
        o.add("id", a.id)
        o.add("time", EventTime.rfc3339(a.time))
        o.add("kind", a.kind)
        o.add("target", a.target)
        o.add("key", a.key)
        o.add("before", a.before)
        o.add("after", a.after)
        o.add("dry_run", a.dryRun)
        o.add("outcome", a.outcome)
        o.add("run", a.runID)
        o.add("actor", a.actor)
        return "{\"action\": \(o.text)}"
    }

    static func json(_ r: BaselineRow) -> String {
        var o = JSONObject()
        o.add("scope", r.scope)
        o.add("name", r.name)
        o.add("hour", hour(r))
        o.add("count", r.count)
        o.add("traffic", r.traffic)
        o.add("rate", rate(r))
        return "{\"baseline\": \(o.text)}"
    }

    static func text(_ f: StoredFinding) -> String {
        "  " + EventTime.rfc3339(f.time) + "  " + f.severity + "  " + f.category + "  "
            + TerminalText.safe(f.subject, maxLength: 100)
            + "\n      " + TerminalText.safe(f.summary, maxLength: 200)
    }

    static func text(_ a: ActionRecord) -> String {
        var o =
            "  #\(a.id)  " + EventTime.rfc3339(a.time) + "  " + a.kind + " "
            + TerminalText.safe(a.target, maxLength: 64) + "  "
            + TerminalText.safe(a.outcome, maxLength: 200)
            + "  (run \(a.runID)" + (a.actor.isEmpty ? "" : ", " + TerminalText.safe(a.actor, maxLength: 100)) + ")"
        if let b = a.before {
            o +=
                "\n      \(TerminalText.safe(a.key, maxLength: 64)): \(TerminalText.safe(b, maxLength: 200)) -> "
                + TerminalText.safe(a.after ?? "", maxLength: 200)
        }
        return o
    }

    static func text(_ r: BaselineRow) -> String {
        "  \(r.scope)  \(TerminalText.safe(r.name, maxLength: 64))  \(hour(r))  \(Int(r.count)) / \(Int(r.traffic))  "
            + "(\(String(format: "%.4f", rate(r))))"
    }

    private static func hour(_ r: BaselineRow) -> String {
        String(format: "%02d:%02d", r.minuteOfDay / 60, r.minuteOfDay % 60)
    }
    private static func rate(_ r: BaselineRow) -> Double { r.traffic > 0 ? r.count / r.traffic : 0 }
}

/// `promowatch rollback ID`: restores the value an audited action replaced, unless someone
/// changed it since; the rollback is audited too.
public enum RollbackRun {
    /// A rollout undo: the newer pod template it replaced is set again, if the deployment still
    /// runs the template the undo set.
    static func rollbackUndo(_ settings: RunSettings, _ a: ActionRecord, store st: StateStore) throws {
        func object(_ s: String?) -> [String: Any]? {
            s.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        guard !a.dryRun, let after = object(a.after), let before = object(a.before) else {
            throw RuntimeError("action #\(a.id) changed nothing: nothing to roll back")
        }
        let config = try settings.loadConfig()
        let client = try settings.kubeClient()
        let ns = config.actions.namespace
        let revs = try DeploymentRevisions.read(client, namespace: ns, name: a.target)
        guard DeploymentRevisions.json(revs.template) == DeploymentRevisions.json(after) else {
            throw RuntimeError(
                "refusing: deployment \(TerminalText.safe(a.target, maxLength: 100))'s pod template changed since action #\(a.id)"
            )
        }
        guard settings.actionMode == .apply else {
            print(
                "dry run: would set deployment \(TerminalText.safe(a.target, maxLength: 100))'s newer pod template again (use --apply)"
            )
            return
        }
        try client.patchDeployment(
            namespace: ns, name: a.target,
            jsonPatch: DeploymentRevisions.templatePatch(before, resourceVersion: revs.resourceVersion))
        let run = try st.beginRun(startedAt: Analyzer.now(), actor: actor("rollback"))
        var c = RunCommit(runID: run)
        c.actions = [
            ActionRecord(
                time: Analyzer.now(), kind: "rollback", target: "#\(a.id)", key: a.key, before: a.after,
                after: a.before, dryRun: false, outcome: ActionOutcome.applied("restored").description,
                findingFingerprint: a.findingFingerprint, runID: run)
        ]
        try st.commit(c)
        try st.finishRun(run, finishedAt: Analyzer.now(), status: "ok")
        print("set deployment \(TerminalText.safe(a.target, maxLength: 100))'s newer pod template again")
    }

    /// A scale-out: the replicas it set go back to what they were, if nobody changed them since.
    static func rollbackScale(_ settings: RunSettings, _ a: ActionRecord, store st: StateStore) throws {
        guard !a.dryRun, let after = a.after.flatMap({ Int($0) }), let before = a.before.flatMap({ Int($0) }) else {
            throw RuntimeError("action #\(a.id) changed nothing: nothing to roll back")
        }
        let config = try settings.loadConfig()
        let client = try settings.kubeClient()
        let ns = config.actions.namespace
        let scale = try client.getScale(namespace: ns, deployment: a.target)
        guard scale.replicas == after else {
            throw RuntimeError(
                "refusing: deployment \(TerminalText.safe(a.target, maxLength: 100)) has \(scale.replicas) replicas, "
                    + "not the \(after) action #\(a.id) set")
        }
        guard settings.actionMode == .apply else {
            print("dry run: would scale \(TerminalText.safe(a.target, maxLength: 100)) back to \(before) (use --apply)")
            return
        }
        try client.setScale(
            namespace: ns, deployment: a.target, replicas: before, resourceVersion: scale.resourceVersion, dryRun: false
        )
        let run = try st.beginRun(startedAt: Analyzer.now(), actor: actor("rollback"))
        var c = RunCommit(runID: run)
        c.actions = [
            ActionRecord(
                time: Analyzer.now(), kind: "rollback", target: "#\(a.id)", key: a.key, before: "\(after)",
                after: "\(before)", dryRun: false, outcome: ActionOutcome.applied("restored").description,
                findingFingerprint: a.findingFingerprint, runID: run)
        ]
        try st.commit(c)
        try st.finishRun(run, finishedAt: Analyzer.now(), status: "ok")
        print("scaled \(TerminalText.safe(a.target, maxLength: 100)) back to \(before) replicas")
    }

    public static func run(_ settings: RunSettings, actionID id: Int64, store location: StoreLocation) throws {
        let st = try location.open()
        guard let a = try st.action(id: id) else { throw RuntimeError("no action #\(id) in the store") }
        switch ProposedAction.Kind(rawValue: a.kind) {
        case .terminateIdleConnections?:
            throw RuntimeError(
                "action #\(id) terminated database connections: nothing to restore (their clients reconnect)")
        case .restartCulprit?:
            throw RuntimeError("action #\(id) deleted pods: nothing to restore (their controller started new ones)")
        case .scaleDeployment?:
            return try rollbackScale(settings, a, store: st)
        case .rolloutUndo?:
            return try rollbackUndo(settings, a, store: st)
        default: break
        }
        guard !a.key.isEmpty, let after = a.after, !a.dryRun else {
            throw RuntimeError("action #\(id) changed nothing: nothing to roll back")
        }
        let config = try settings.loadConfig()
        let client = try settings.kubeClient()
        let ns = config.actions.namespace
        let name = config.actions.configMap
        let cm = try client.getConfigMap(namespace: ns, name: name)
        guard cm.data[a.key] == after else {
            throw RuntimeError(
                "refusing: \(a.key) changed since action #\(id) (now \(TerminalText.safe(cm.data[a.key] ?? "<unset>", maxLength: 200)))"
            )
        }
        let restore = a.before ?? ""
        guard settings.actionMode == .apply else {
            print("dry run: would restore \(a.key) to \(TerminalText.safe(restore, maxLength: 200)) (use --apply)")
            return
        }
        try client.patchConfigMap(
            namespace: ns, name: name,
            mergePatch: ConfigMapEdits.mergePatch(setting: [a.key: a.before], resourceVersion: cm.resourceVersion))
        let run = try st.beginRun(startedAt: Analyzer.now(), actor: actor("rollback"))
        var c = RunCommit(runID: run)
        c.actions = [
            ActionRecord(
                time: Analyzer.now(), kind: "rollback", target: "#\(id)", key: a.key, before: after, after: a.before,
                dryRun: false, outcome: ActionOutcome.applied("restored").description,
                findingFingerprint: a.findingFingerprint, runID: run)
        ]
        try st.commit(c)
        try st.finishRun(run, finishedAt: Analyzer.now(), status: "ok")
        print("restored \(a.key) to \(TerminalText.safe(restore, maxLength: 200))")
    }
}

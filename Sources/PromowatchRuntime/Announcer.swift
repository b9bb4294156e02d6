import Foundation
import PromowatchCore
import PromowatchNotify
import PromowatchReport

/// Turns a run's findings and resolved incidents into incident notices for the notifier: one
/// incident is opened, updated as findings join (at its most severe so far) and resolved; active
/// incidents are re-sent to Alertmanager every `notifications.resend_seconds`.
final class Announcer {
    let notifier: Notifier
    let resendSeconds: Double
    private var active: [String: IncidentNotice] = [:]
    private var lastResend = Date()

    /// Nil when no receiver is configured.
    init?(_ c: DetectionConfig) {
        guard !c.notifications.isEmpty else { return nil }
        notifier = Notifier(config: c.notifications, environment: ProcessInfo.processInfo.environment)
        resendSeconds = Double(c.notifications.resendSeconds)
        for p in notifier.problems { Stderr.write("promowatch: \(p)\n") }
    }

    /// Audit ids of actions by finding fingerprint (`cron`), named in the notices.
    var auditIDs: [String: Int64] = [:]

    func findings<S: Sequence>(_ fs: S) where S.Element == Finding {
        for f in fs {
            guard let ref = f.incident else { continue }
            var n = IncidentNotice(
                id: ref.id, state: ref.state, severity: f.severity, category: ref.root,
                subject: IncidentNotice.subject(f.subject), summary: f.summary,
                evidence:
                    "observed \(NumberText.short(f.evidence.observed)), expected \(NumberText.short(f.evidence.expected)), score \(NumberText.short(f.evidence.score))",
                action: f.action.map { a in
                    "\(a.kind.rawValue) \(a.target)" + (a.outcome.map { " (\($0.description))" } ?? " (proposed)")
                }, startsAt: f.time, findingJSON: FindingReport.json(f))
            n.auditID = auditIDs[f.fingerprint]
            if let old = active[ref.id] {
                if n.auditID == nil { n.auditID = old.auditID }
                n.startsAt = old.startsAt
                n.severity = min(old.severity, n.severity)
                if n.action == nil { n.action = old.action }
            }
            active[ref.id] = n
            notifier.notify(n)
        }
    }

    func resolved<S: Sequence>(_ es: S) where S.Element == IncidentEvent {
        for e in es {
            var n =
                active[e.ref.id]
                ?? IncidentNotice(
                    id: e.ref.id, state: .resolved, severity: e.severity, category: e.ref.root, subject: "checkout",
                    summary: "", evidence: "", action: nil, startsAt: e.opened)
            n.state = .resolved
            n.endsAt = e.time
            n.summary = "resolved after \(e.findings) finding(s): " + n.summary
            active[e.ref.id] = nil
            notifier.notify(n)
        }
    }

    /// Re-sends active incidents to Alertmanager when due.
    func tick() {
        guard Date().timeIntervalSince(lastResend) >= resendSeconds else { return }
        lastResend = Date()
        notifier.resend(active.values.sorted { $0.id < $1.id })
    }

    /// At the end of a run: whatever is queued goes out (for at most `seconds`).
    func finish(seconds: Double = 10) {
        notifier.drain(seconds: seconds)
    }
}

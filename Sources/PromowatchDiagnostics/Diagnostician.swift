import PromowatchCore
import PromowatchKube

/// Fills in `Finding.diagnosis` from the systems behind a finding, before the decision stage
/// reads it: what the runbook's diagnosis steps would find by hand. Only a finding raised close
/// to now (`diagnostics.max_age_seconds`) is diagnosed: the present says nothing about an
/// incident in an archive. One read serves every finding of a call.
public final class Diagnostician {
    let config: DetectionConfig
    let database: DatabaseDiagnostics?
    /// Why there is no database to read, when one was configured and could not be reached.
    let unavailable: String?
    /// The checkout's pods through the Kubernetes API, connected on first need (once: a failure
    /// is remembered for the run).
    let podsSource: (() throws -> PodDiagnostics)?
    private var pods: Result<PodDiagnostics, Error>?
    /// Wall-clock time (ns since the epoch); a parameter for tests.
    let now: () -> Int64
    /// Reads that failed, for the run's messages.
    public private(set) var errors: [String] = []

    public init(
        config: DetectionConfig, database: DatabaseDiagnostics?, unavailable: String? = nil,
        pods: (() throws -> PodDiagnostics)? = nil, now: @escaping () -> Int64
    ) {
        self.config = config
        self.podsSource = pods
        self.database = database
        self.unavailable = unavailable
        self.now = now
    }

    public func diagnose(_ findings: [Finding]) -> [Finding] {
        var out = findings
        diagnose(&out)
        return out
    }

    public func diagnose(_ findings: inout [Finding]) {
        diagnoseDatabase(&findings)
        diagnosePods(&findings)
        diagnoseRollouts(&findings)
    }

    /// P0 and P1 findings: a rollout of a watched deployment shortly before the incident began
    /// (`diagnostics.rollout_window_minutes`), named with its revision, image and age.
    func diagnoseRollouts(_ findings: inout [Finding]) {
        let t = now()
        var read: Result<[DeploymentRevisions], Error>?
        let window = Int64(config.diagnostics.rolloutWindowMinutes) * 60 * EventTime.nanosPerSecond
        for i in findings.indices where findings[i].severity <= .p1 && !config.diagnostics.watchedDeployments.isEmpty {
            guard tooOld(findings[i].time, t, what: "the cluster") == nil, let podsSource else { continue }
            if pods == nil { pods = Result { try podsSource() } }
            // no API at all (a laptop without a cluster) is said by the pods' diagnosis, not here
            guard case .success(let p)? = pods else { continue }
            if read == nil {
                read = Result {
                    try config.diagnostics.watchedDeployments.map {
                        try DeploymentRevisions.read(p.client, namespace: config.actions.namespace, name: $0)
                    }
                }
            }
            guard case .success(let all) = read! else {
                if case .failure(let e) = read! {
                    var d = findings[i].diagnosis ?? Diagnosis()
                    d.unavailable.append("reading the rollouts failed: \(e)")
                    findings[i].diagnosis = d
                }
                continue
            }
            let f = findings[i]
            // the newest rollout that came before the incident began, within the window (a later
            // one, after the incident, is not its cause)
            let hit = all.compactMap { revs -> Rollout? in
                guard let k = revs.revisions.lastIndex(where: { ($0.createdAt ?? Int64.max) <= f.time }),
                    let at = revs.revisions[k].createdAt, f.windowStart - at <= window
                else { return nil }
                let r = revs.revisions[k]
                let before = k > 0 ? revs.revisions[k - 1] : nil
                return Rollout(
                    deployment: revs.name, revision: r.number, image: r.images, createdAt: at,
                    previousRevision: before?.number, previousImage: before?.images,
                    isCurrent: k == revs.revisions.count - 1)
            }.max { $0.createdAt < $1.createdAt }
            guard let r = hit else { continue }
            var d = findings[i].diagnosis ?? Diagnosis()
            d.rollout = r
            findings[i].diagnosis = d
            let age = max(0, (f.windowStart - r.createdAt) / (60 * EventTime.nanosPerSecond))
            findings[i].summary +=
                "; began \(age) min after the rollout of \(r.deployment) revision \(r.revision) (\(r.image))"
        }
    }

    /// Why a finding raised at `time` is too old to diagnose from the present, or nil.
    func tooOld(_ time: Int64, _ t: Int64, what: String) -> String? {
        let age = (t - time) / EventTime.nanosPerSecond
        guard age > Int64(config.diagnostics.maxAgeSeconds) else { return nil }
        return "the finding is \(age / 60) min old: \(what) now says nothing about then "
            + "(diagnostics.max_age_seconds \(config.diagnostics.maxAgeSeconds))"
    }

    /// Latency and timeouts: the checkout's pods (crash loops, OOMKilled, restarts, readiness).
    func diagnosePods(_ findings: inout [Finding]) {
        let t = now()
        var list: Result<[KubeClient.Pod], Error>?
        for i in findings.indices where findings[i].category == .latency {
            var d = findings[i].diagnosis ?? Diagnosis()
            defer { findings[i].diagnosis = d }
            if let why = tooOld(findings[i].time, t, what: "the cluster") {
                d.unavailable.append(why)
                continue
            }
            guard let podsSource else {
                d.unavailable.append("no Kubernetes API to read the pods")
                continue
            }
            if pods == nil { pods = Result { try podsSource() } }
            if list == nil { list = pods!.flatMap { p in Result { try p.read() } } }
            switch list! {
            case .failure(let e):
                errors.append("\(e)")
                d.unavailable.append("reading the pods failed: \(e)")
            case .success(let ps):
                let p = PodDiagnostics.diagnosis(
                    ps, selector: config.diagnostics.podSelector, windowStart: findings[i].windowStart)
                d.pods = p
                findings[i].summary += "; " + p.line
            }
        }
    }

    func diagnoseDatabase(_ findings: inout [Finding]) {
        var read: Diagnosis?
        let t = now()
        for i in findings.indices where findings[i].category == .dbSaturation {
            guard let database else {
                findings[i].diagnosis = .unavailable(
                    unavailable
                        ?? "no diagnostics connection: set diagnostics.postgres or PROMOWATCH_DIAGNOSTICS_DATABASE_URL")
                continue
            }
            if let why = tooOld(findings[i].time, t, what: "the database") {
                findings[i].diagnosis = .unavailable(why)
                continue
            }
            if read == nil {
                do {
                    read = Diagnosis(database: try database.read(idleAgeSeconds: config.actions.idleConnectionSeconds))
                } catch {
                    errors.append("\(error)")
                    read = .unavailable("reading the database failed: \(error)")
                }
            }
            findings[i].diagnosis = read
            if let d = read?.database {
                findings[i].summary += "; " + DatabaseDiagnosis.describe(d)
            }
        }
    }
}

extension DatabaseDiagnosis {
    /// One line for the finding's summary (application names sanitised by the printers).
    public static func describe(_ d: DatabaseDiagnosis) -> String {
        let top = d.applications.prefix(3).map {
            "\($0.name.isEmpty ? "(unnamed)" : $0.name) \($0.total) (\($0.idle) idle, \($0.idleOverAge) over "
                + "\(d.idleAgeSeconds) s, \($0.active) active)"
        }
        let culprit = d.culprit.map { "culprit \($0)" } ?? "no application holds most connections"
        return "\(d.clientConnections) of \(d.maxConnections) connections in use: \(culprit); "
            + top.joined(separator: ", ")
    }
}

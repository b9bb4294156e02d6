import PromowatchCore

/// Fills in `Finding.diagnosis` from the systems behind a finding, before the decision stage
/// reads it: what the runbook's diagnosis steps would find by hand. Only a finding raised close
/// to now (`diagnostics.max_age_seconds`) is diagnosed: the present says nothing about an
/// incident in an archive. One read serves every finding of a call.
public final class Diagnostician {
    let config: DetectionConfig
    let database: DatabaseDiagnostics?
    /// Why there is no database to read, when one was configured and could not be reached.
    let unavailable: String?
    /// Wall-clock time (ns since the epoch); a parameter for tests.
    let now: () -> Int64
    /// Reads that failed, for the run's messages.
    public private(set) var errors: [String] = []

    public init(
        config: DetectionConfig, database: DatabaseDiagnostics?, unavailable: String? = nil,
        now: @escaping () -> Int64
    ) {
        self.config = config
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
        var read: Diagnosis?
        let t = now()
        for i in findings.indices where findings[i].category == .dbSaturation {
            guard let database else {
                findings[i].diagnosis = .unavailable(
                    unavailable
                        ?? "no diagnostics connection: set diagnostics.postgres or PROMOWATCH_DIAGNOSTICS_DATABASE_URL")
                continue
            }
            let age = (t - findings[i].time) / EventTime.nanosPerSecond
            guard age <= Int64(config.diagnostics.maxAgeSeconds) else {
                findings[i].diagnosis = .unavailable(
                    "the finding is \(age / 60) min old: the database now says nothing about then "
                        + "(diagnostics.max_age_seconds \(config.diagnostics.maxAgeSeconds))")
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

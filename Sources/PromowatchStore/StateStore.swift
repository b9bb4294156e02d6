import PromowatchCore

/// One audited action attempt.
public struct ActionRecord: Sendable, Equatable {
    public var id: Int64 = 0
    public var time: Int64
    public var kind: String
    public var target: String
    /// The ConfigMap key and its value before and after (for rollback).
    public var key: String
    public var before: String?
    public var after: String?
    public var dryRun: Bool
    public var outcome: String
    public var findingFingerprint: String
    public var runID: Int64
    /// Who acted: the run's actor (command, host or instance), filled in when read back.
    public var actor = ""

    public init(
        time: Int64, kind: String, target: String, key: String, before: String?, after: String?, dryRun: Bool,
        outcome: String, findingFingerprint: String, runID: Int64
    ) {
        self.time = time
        self.kind = kind
        self.target = target
        self.key = key
        self.before = before
        self.after = after
        self.dryRun = dryRun
        self.outcome = outcome
        self.findingFingerprint = findingFingerprint
        self.runID = runID
    }
}

/// A finding as stored: the fingerprint makes recording it again a no-op.
public struct StoredFinding: Sendable, Equatable {
    public var fingerprint: String
    public var time: Int64
    public var category: String
    public var severity: String
    public var subject: String
    public var summary: String
    public var runID: Int64
    /// The incident it belongs to ("" for findings stored before incidents were).
    public var incident = ""
}

/// An incident as stored: its root cause, span and state; recording it again updates it.
public struct IncidentRecord: Sendable, Equatable {
    public var id: String
    public var root: String
    public var severity: String
    public var opened: Int64
    public var updated: Int64
    /// When it was resolved (nil: still open at the end of the run that recorded it).
    public var resolved: Int64?
    public var findings: Int
    public var runID: Int64
    /// The cause it groups (the tracker's key; "" for incidents stored before it was).
    public var causeKey: String
    public init(
        id: String, root: String, severity: String, opened: Int64, updated: Int64, resolved: Int64?, findings: Int,
        runID: Int64, causeKey: String = ""
    ) {
        self.causeKey = causeKey
        self.id = id
        self.root = root
        self.severity = severity
        self.opened = opened
        self.updated = updated
        self.resolved = resolved
        self.findings = findings
        self.runID = runID
    }
}

/// What one run commits in one transaction: nothing of it is visible unless all of it is.
public struct RunCommit: Sendable {
    public var runID: Int64
    public var findings: [Finding] = []
    /// Incidents opened, updated or resolved in the run (an id recorded again is updated).
    public var incidents: [IncidentRecord] = []
    public var actions: [ActionRecord] = []
    /// Pending intents (by id) to complete with their final values.
    public var completions: [ActionRecord] = []
    /// Last event time (ns) processed per source (`pod/<pod>/<container>`).
    public var checkpoints: [String: Int64] = [:]
    /// The detector's snapshot after this run (name, bytes): the next run continues from it.
    public var detectorState: (name: String, bytes: [UInt8])?
    /// The hour-of-day baseline as rows (replacing the stored rows of the same scope, name and hour).
    public var baselines: [BaselineRow] = []
    /// `watch --shared` leader: the group whose consumed partials the snapshot now contains (deleted).
    public var consumedPartialsOf: String?
    public init(runID: Int64) { self.runID = runID }
}

/// Problems with the store, by what a caller can do about them. Messages never contain a password.
public enum StoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The server cannot be reached or the connection broke: retry after reconnecting.
    case connectionLost(String)
    /// A constraint or a concurrent transaction refused the write: nothing was changed.
    case constraint(String)
    /// Stored state is unreadable or inconsistent (a damaged file, a missing snapshot).
    case corruptState(String)
    /// Anything else the store reported (a local file that cannot be written, an SQL error).
    case failed(String)

    public var description: String {
        switch self {
        case .connectionLost(let m), .constraint(let m), .corruptState(let m), .failed(let m): return m
        }
    }

    public var isConnectionLost: Bool {
        if case .connectionLost = self { return true }
        return false
    }
}

/// The seam between promowatch and its state: PostgreSQL (`PostgresStore`) or a local
/// directory (`EmbeddedStore`, the default, no server needed). Both pass one test suite.
public protocol StateStore: AnyObject {
    /// Creates or upgrades the schema; safe when several instances start at once.
    func migrate() throws
    /// The schema version after `migrate`.
    func schemaVersion() throws -> Int
    /// `actor`: who runs it, e.g. `cron@checkout-cron-28391-x7k2p` (shown with its actions).
    func beginRun(startedAt: Int64, actor: String) throws -> Int64
    func finishRun(_ id: Int64, finishedAt: Int64, status: String) throws
    /// Findings, actions and checkpoints of a run, atomically. Findings already recorded (same
    /// fingerprint) are kept as they were; returns how many findings were new.
    @discardableResult func commit(_ c: RunCommit) throws -> Int
    func findings(limit: Int) throws -> [StoredFinding]
    /// The most recently updated incidents first.
    func incidents(limit: Int) throws -> [IncidentRecord]
    func hasFinding(_ fingerprint: String) throws -> Bool
    /// Write-ahead: records that an action is about to be attempted (outcome `pending`) and
    /// returns its id, committed at once so that a crash after acting leaves a trace.
    func recordIntent(_ a: ActionRecord) throws -> Int64
    /// A `pending` intent left for this finding, action kind and target (by an earlier, crashed run).
    func pendingIntent(fingerprint: String, kind: String, target: String) throws -> ActionRecord?
    func actions(limit: Int) throws -> [ActionRecord]
    func action(id: Int64) throws -> ActionRecord?
    func checkpoints() throws -> [String: Int64]
    /// The detector snapshot last committed under `name`, if any.
    func detectorState(_ name: String) throws -> [UInt8]?
    func baselines(limit: Int) throws -> [BaselineRow]
    /// Takes the lock that keeps two `cron` runs apart; false when another holder has it.
    func tryLock(_ name: String) throws -> Bool
    func unlock(_ name: String) throws
}

/// One `watch --shared` instance as the store sees it.
public struct SharedMember: Sendable, Equatable {
    public var instance: String
    /// Newest event time it has published (ns; Int64.min: none yet).
    public var watermark: Int64
    /// Seconds since it last published, and since its watermark last moved.
    public var heartbeatAge: Double
    public var dataAge: Double
    /// Its input has ended and everything is published.
    public var done: Bool
    public init(instance: String, watermark: Int64, heartbeatAge: Double, dataAge: Double, done: Bool) {
        self.instance = instance
        self.watermark = watermark
        self.heartbeatAge = heartbeatAge
        self.dataAge = dataAge
        self.done = done
    }

    /// How far the leader may evaluate: the oldest watermark among instances that are alive (heard
    /// from within `staleAfter` s), not done, and not quiet (new data within `quietAfter` s: an
    /// instance with nothing to read must not hold the others back). Nil: no limit.
    public static func gate(_ members: [SharedMember], staleAfter: Double = 30, quietAfter: Double = 10) -> Int64? {
        members.filter { !$0.done && $0.heartbeatAge < staleAfter && $0.dataAge < quietAfter }.map(\.watermark).min()
    }

    /// Whether any other instance may still send data (the leader waits for them at its end).
    public static func othersRunning(_ members: [SharedMember], except me: String, staleAfter: Double = 30) -> Bool {
        members.contains { $0.instance != me && !$0.done && $0.heartbeatAge < staleAfter }
    }
}

/// The scale-out seam (PostgreSQL only): instances publish partial aggregates, the leader (the
/// holder of the group's lock) takes and merges them.
public protocol SharedStore: StateStore {
    /// Publishes partials (oldest first) and the instance's watermark, in one transaction.
    func publish(group: String, instance: String, partials: [[UInt8]], watermark: Int64, done: Bool) throws
    /// The partials not yet taken, oldest first, marked taken (they are deleted by the commit that
    /// saves a snapshot containing them). `includingTaken`: also those taken since that snapshot
    /// (a new leader continuing from it).
    func takePartials(group: String, includingTaken: Bool) throws -> [[UInt8]]
    func members(group: String) throws -> [SharedMember]
    /// Opens the connection again after the server went away (session locks are gone with it).
    func reconnect() throws
}

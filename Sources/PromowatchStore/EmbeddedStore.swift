import Foundation
import PromowatchCore
#if canImport(Glibc)
    import Glibc
#endif

/// State in a local directory, no server needed (the default). One JSON file, rewritten
/// durably on every change: written to a temporary file, fsynced, renamed over the old one and the
/// directory fsynced, so a crash leaves either the old state or the new one, never a mix.
/// Locks are `flock`s on files in the directory (released by the kernel if the process dies).
public final class EmbeddedStore: StateStore {
    public let directory: String
    private var stateFile: String { directory + "/state.json" }
    private var lockFDs: [String: Int32] = [:]
    /// Retention: the newest this many findings and actions are kept.
    public var keep = 50_000

    public init(directory: String) throws {
        self.directory = directory
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw StoreError.failed("cannot create state directory \(directory): \(error)")
        }
    }

    deinit { for (_, fd) in lockFDs { close(fd) } }

    struct State {
        var version = 0
        var nextRun: Int64 = 1
        var nextAction: Int64 = 1
        var runs: [[String: Any]] = []
        var findings: [[String: Any]] = []
        var actions: [[String: Any]] = []
        var checkpoints: [String: Int64] = [:]
        /// Detector snapshots: name -> file in the directory (written before the state that names it).
        var detectorStates: [String: String] = [:]
        var baselines: [[String: Any]] = []
        var incidents: [[String: Any]] = []
    }

    private func load() throws -> State {
        guard let data = FileManager.default.contents(atPath: stateFile) else { return State() }
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw StoreError.corruptState("state file \(stateFile) is unreadable")
        }
        var s = State()
        s.version = o["version"] as? Int ?? 0
        s.nextRun = (o["next_run"] as? NSNumber)?.int64Value ?? 1
        s.nextAction = (o["next_action"] as? NSNumber)?.int64Value ?? 1
        s.runs = o["runs"] as? [[String: Any]] ?? []
        s.findings = o["findings"] as? [[String: Any]] ?? []
        s.actions = o["actions"] as? [[String: Any]] ?? []
        for (k, v) in o["checkpoints"] as? [String: Any] ?? [:] { s.checkpoints[k] = (v as? NSNumber)?.int64Value }
        s.detectorStates = o["detector_states"] as? [String: String] ?? [:]
        s.baselines = o["baselines"] as? [[String: Any]] ?? []
        s.incidents = o["incidents"] as? [[String: Any]] ?? []
        return s
    }

    private func save(_ s: State) throws {
        let o: [String: Any] = [
            "version": s.version, "next_run": s.nextRun, "next_action": s.nextAction,
            "runs": s.runs.suffix(keep).map { $0 },
            "findings": s.findings.suffix(keep).map { $0 }, "actions": s.actions.suffix(keep).map { $0 },
            "checkpoints": s.checkpoints, "detector_states": s.detectorStates, "baselines": s.baselines,
            "incidents": s.incidents.suffix(keep).map { $0 },
        ]
        let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
        try writeDurably(stateFile, data)
    }

    /// Writes a file so that it is either wholly there or not at all: temp file, fsync, rename,
    /// fsync of the directory.
    private func writeDurably(_ path: String, _ data: Data) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.failed("cannot write \(tmp): \(String(cString: strerror(errno)))") }
        var ok = data.withUnsafeBytes { b -> Bool in
            var off = 0
            while off < b.count {
                let n = write(fd, b.baseAddress! + off, b.count - off)
                if n <= 0 { return false }
                off += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw StoreError.failed("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Read-modify-write under an exclusive lock, so two processes never lose each other's update.
    private func update<T>(_ body: (inout State) throws -> T, after: ((State) -> Void)? = nil) throws -> T {
        let fd = open(directory + "/.state.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.failed("cannot lock \(directory)") }
        defer { close(fd) }
        flock(fd, LOCK_EX)
        var s = try load()
        let v = try body(&s)
        try save(s)
        after?(s)
        return v
    }

    public func migrate() throws {
        try update { s in if s.version < Schema.latest { s.version = Schema.latest } }
    }

    public func schemaVersion() throws -> Int { try load().version }

    public func beginRun(startedAt: Int64, actor: String) throws -> Int64 {
        try update { s in
            let id = s.nextRun
            s.nextRun += 1
            s.runs.append(["id": id, "started_at": startedAt, "status": "running", "actor": actor])
            return id
        }
    }

    public func finishRun(_ id: Int64, finishedAt: Int64, status: String) throws {
        try update { s in
            if let i = s.runs.firstIndex(where: { ($0["id"] as? NSNumber)?.int64Value == id }) {
                s.runs[i]["finished_at"] = finishedAt
                s.runs[i]["status"] = status
            }
        }
    }

    @discardableResult
    public func commit(_ c: RunCommit) throws -> Int {
        // the snapshot goes to its own new file first; the state names it only once that is durable,
        // so a crash leaves the previous snapshot in force (and at worst an unnamed file, removed later)
        var snapshotFile: String? = nil
        if let (name, bytes) = c.detectorState {
            let file = "detector-\(EmbeddedStore.safeName(name))-\(c.runID)-\(UInt32.random(in: 0...UInt32.max)).bin"
            try writeDurably(directory + "/" + file, Data(bytes))
            snapshotFile = file
        }
        return try update { s in
            if let (name, _) = c.detectorState, let file = snapshotFile { s.detectorStates[name] = file }
            if !c.baselines.isEmpty {
                func key(_ scope: String?, _ name: String?, _ minute: Int?) -> String {
                    "\(scope ?? "")\u{1F}\(name ?? "")\u{1F}\(minute ?? -1)"
                }
                var at: [String: Int] = [:]
                for (i, r) in s.baselines.enumerated() {
                    at[key(r["scope"] as? String, r["name"] as? String, r["minute_of_day"] as? Int)] = i
                }
                for b in c.baselines {
                    let row: [String: Any] = [
                        "scope": b.scope, "name": b.name, "minute_of_day": b.minuteOfDay, "count": b.count,
                        "traffic": b.traffic,
                    ]
                    let k = key(b.scope, b.name, b.minuteOfDay)
                    if let i = at[k] {
                        s.baselines[i] = row
                    } else {
                        at[k] = s.baselines.count
                        s.baselines.append(row)
                    }
                }
            }
            var known = Set(s.findings.compactMap { $0["fingerprint"] as? String })
            var inserted = 0
            for f in c.findings where known.insert(f.fingerprint).inserted {
                s.findings.append([
                    "fingerprint": f.fingerprint, "time": f.time, "category": f.category.rawValue,
                    "severity": f.severity.name,
                    "subject": f.subject.storageText, "summary": f.summary, "run_id": c.runID,
                    "incident": f.incident?.id ?? "",
                ])
                inserted += 1
            }
            for i in c.incidents {
                var o: [String: Any] = [
                    "id": i.id, "root": i.root, "severity": i.severity, "opened": i.opened, "updated": i.updated,
                    "findings": i.findings, "run_id": c.runID, "cause_key": i.causeKey,
                ]
                if let r = i.resolved { o["resolved"] = r }
                if let at = s.incidents.firstIndex(where: { $0["id"] as? String == i.id }) {
                    let before = (s.incidents[at]["updated"] as? NSNumber)?.int64Value ?? Int64.min
                    o["updated"] = max(before, i.updated)
                    s.incidents[at] = o
                } else {
                    s.incidents.append(o)
                }
            }
            for a in c.actions {
                var o: [String: Any] = [
                    "id": s.nextAction, "time": a.time, "kind": a.kind, "target": a.target, "key": a.key,
                    "dry_run": a.dryRun, "outcome": a.outcome, "finding_fingerprint": a.findingFingerprint,
                    "run_id": c.runID,
                ]
                if let b = a.before { o["before"] = b }
                if let x = a.after { o["after"] = x }
                s.actions.append(o)
                s.nextAction += 1
            }
            for a in c.completions {
                guard let i = s.actions.firstIndex(where: { ($0["id"] as? NSNumber)?.int64Value == a.id }) else {
                    continue
                }
                s.actions[i]["key"] = a.key
                s.actions[i]["before"] = a.before
                s.actions[i]["after"] = a.after
                s.actions[i]["dry_run"] = a.dryRun
                s.actions[i]["outcome"] = a.outcome
                s.actions[i]["run_id"] = c.runID
            }
            for (source, t) in c.checkpoints { s.checkpoints[source] = max(s.checkpoints[source] ?? Int64.min, t) }
            return inserted
        } after: { s in
            self.removeUnnamedSnapshots(keeping: Set(s.detectorStates.values))
        }
    }

    static func safeName(_ name: String) -> String {
        String(name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? Character($0) : "_" })
    }

    /// Snapshot files no state names (replaced ones, or left by a crash before their commit).
    private func removeUnnamedSnapshots(keeping: Set<String>) {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for f in files where f.hasPrefix("detector-") && f.hasSuffix(".bin") && !keeping.contains(f) {
            unlink(directory + "/" + f)
        }
    }

    public func detectorState(_ name: String) throws -> [UInt8]? {
        guard let file = try load().detectorStates[name] else { return nil }
        guard let data = FileManager.default.contents(atPath: directory + "/" + file) else {
            throw StoreError.corruptState("detector state \(file) named by \(stateFile) is missing")
        }
        return [UInt8](data)
    }

    public func baselines(limit: Int) throws -> [BaselineRow] {
        try load().baselines.map {
            BaselineRow(
                scope: $0["scope"] as? String ?? "", name: $0["name"] as? String ?? "",
                minuteOfDay: $0["minute_of_day"] as? Int ?? 0,
                count: ($0["count"] as? NSNumber)?.doubleValue ?? 0,
                traffic: ($0["traffic"] as? NSNumber)?.doubleValue ?? 0)
        }.sorted { ($0.scope, $0.name, $0.minuteOfDay) < ($1.scope, $1.name, $1.minuteOfDay) }.prefix(limit).map { $0 }
    }

    public func findings(limit: Int) throws -> [StoredFinding] {
        try load().findings.map {
            StoredFinding(
                fingerprint: $0["fingerprint"] as? String ?? "", time: ($0["time"] as? NSNumber)?.int64Value ?? 0,
                category: $0["category"] as? String ?? "", severity: $0["severity"] as? String ?? "",
                subject: $0["subject"] as? String ?? "", summary: $0["summary"] as? String ?? "",
                runID: ($0["run_id"] as? NSNumber)?.int64Value ?? 0, incident: $0["incident"] as? String ?? "")
        }.sorted { ($0.time, $1.fingerprint) > ($1.time, $0.fingerprint) }.prefix(limit).map { $0 }
    }

    public func incidents(limit: Int) throws -> [IncidentRecord] {
        try load().incidents.map {
            IncidentRecord(
                id: $0["id"] as? String ?? "", root: $0["root"] as? String ?? "",
                severity: $0["severity"] as? String ?? "",
                opened: ($0["opened"] as? NSNumber)?.int64Value ?? 0,
                updated: ($0["updated"] as? NSNumber)?.int64Value ?? 0,
                resolved: ($0["resolved"] as? NSNumber)?.int64Value,
                findings: ($0["findings"] as? NSNumber)?.intValue ?? 0,
                runID: ($0["run_id"] as? NSNumber)?.int64Value ?? 0, causeKey: $0["cause_key"] as? String ?? "")
        }.sorted { ($0.updated, $1.id) > ($1.updated, $0.id) }.prefix(limit).map { $0 }
    }

    private func action(_ o: [String: Any]) -> ActionRecord {
        var a = ActionRecord(
            time: (o["time"] as? NSNumber)?.int64Value ?? 0, kind: o["kind"] as? String ?? "",
            target: o["target"] as? String ?? "",
            key: o["key"] as? String ?? "", before: o["before"] as? String, after: o["after"] as? String,
            dryRun: o["dry_run"] as? Bool ?? false, outcome: o["outcome"] as? String ?? "",
            findingFingerprint: o["finding_fingerprint"] as? String ?? "",
            runID: (o["run_id"] as? NSNumber)?.int64Value ?? 0)
        a.id = (o["id"] as? NSNumber)?.int64Value ?? 0
        return a
    }

    /// Actions as stored, with their run's actor.
    private func actions(_ s: State) -> [ActionRecord] {
        var actors: [Int64: String] = [:]
        for r in s.runs { if let id = (r["id"] as? NSNumber)?.int64Value { actors[id] = r["actor"] as? String ?? "" } }
        return s.actions.map { o in
            var a = action(o)
            a.actor = actors[a.runID] ?? ""
            return a
        }
    }

    public func actions(limit: Int) throws -> [ActionRecord] {
        actions(try load()).sorted { $0.id > $1.id }.prefix(limit).map { $0 }
    }

    public func action(id: Int64) throws -> ActionRecord? {
        actions(try load()).first { $0.id == id }
    }

    public func checkpoints() throws -> [String: Int64] { try load().checkpoints }

    public func hasFinding(_ fingerprint: String) throws -> Bool {
        try load().findings.contains { $0["fingerprint"] as? String == fingerprint }
    }

    public func recordIntent(_ a: ActionRecord) throws -> Int64 {
        try update { s in
            let id = s.nextAction
            s.nextAction += 1
            s.actions.append([
                "id": id, "time": a.time, "kind": a.kind, "target": a.target, "key": "", "dry_run": false,
                "outcome": "pending", "finding_fingerprint": a.findingFingerprint, "run_id": a.runID,
            ])
            return id
        }
    }

    public func pendingIntent(fingerprint: String, kind: String, target: String) throws -> ActionRecord? {
        try load().actions.map(action).first {
            $0.outcome == "pending" && $0.findingFingerprint == fingerprint && $0.kind == kind && $0.target == target
        }
    }

    public func tryLock(_ name: String) throws -> Bool {
        if lockFDs[name] != nil { return false }
        let safe = EmbeddedStore.safeName(name)
        let fd = open(directory + "/.lock-" + safe, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.failed("cannot lock \(directory)") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return false
        }
        lockFDs[name] = fd
        return true
    }

    public func unlock(_ name: String) throws {
        if let fd = lockFDs.removeValue(forKey: name) {
            flock(fd, LOCK_UN)
            close(fd)
        }
    }
}

/// `--database-url` / `PROMOWATCH_DATABASE_URL` decides: a PostgreSQL URI or keyword string, or
/// nothing for the embedded store in `stateDirectory`.
public func openStore(databaseURL: String?, stateDirectory: String) throws -> StateStore {
    if let url = databaseURL, !url.isEmpty { return try PostgresStore(conninfo: url) }
    return try EmbeddedStore(directory: stateDirectory)
}

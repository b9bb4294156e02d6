import Foundation
import PromowatchActions
import PromowatchConfig
import PromowatchCore
import PromowatchDecision
import PromowatchDiagnostics
import PromowatchEngine
import PromowatchKube
import PromowatchMetrics
import PromowatchParsing
import PromowatchReport
import PromowatchStore

/// What the command line decided for one run; every run loop starts from it.
public struct RunSettings: Sendable {
    /// Flags that override single configuration values (applied after the file).
    public struct Overrides: Sendable {
        public var minScore: Double?
        public var warmupMinutes: Int?
        public var cooldownMinutes: Int?
        /// Added to `decision.allowlist` and `decision.campaigns`.
        public var allow: [String] = []
        public var campaigns: [String] = []
        public init() {}
    }

    /// Whether proposed actions are carried out.
    public enum ActionMode: Sendable {
        /// Say what would change (the default).
        case dryRun
        /// Send the changes with dryRun=All: the API server validates, nothing is stored.
        case serverDryRun
        case apply
    }

    /// Configuration file; nil: `$PROMOWATCH_CONFIG`, else the built-in defaults.
    public var configFile: String?
    public var overrides = Overrides()
    /// Nil: text on a terminal, JSON otherwise.
    public var format: OutputFormat?
    /// Coupons and providers listed in the summary (0 = all).
    public var top = 20
    /// False: only count events.
    public var detect = true
    public var actionMode = ActionMode.dryRun
    /// The Kubernetes API: a URL without credentials (e.g. `kubectl proxy`), else a kubeconfig,
    /// else in-cluster / `$KUBECONFIG` / `~/.kube/config`.
    public var kubeURL: String?
    public var kubeconfig: String?
    /// kubectl's `--context` (a kubeconfig context) and `--namespace` (over `actions.namespace`).
    public var kubeContext: String?
    public var namespace: String?
    /// `watch --metrics-listen`: where to serve Prometheus metrics (nil: not served).
    public var metricsListen: String?
    /// `watch --evaluate-every`: seconds of event time between evaluations.
    public var evaluateEverySeconds = 5
    /// `cron --metrics-textfile`: the run's metrics for node-exporter's textfile collector.
    public var metricsTextfile: String?
    /// `analyze --report`: a self-contained HTML report.
    public var reportPath: String?

    public init() {}

    var output: Output { Output(format: OutputFormat.resolve(format), top: top) }

    /// Built-in defaults, then the file, then flags.
    public func loadConfig() throws -> DetectionConfig {
        var c = DetectionConfig()
        let path = configFile ?? ProcessInfo.processInfo.environment["PROMOWATCH_CONFIG"]
        if let path, !path.isEmpty {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw RuntimeError("cannot read configuration file \(path)")
            }
            c = try ConfigLoader.load(yaml: String(decoding: data, as: UTF8.self), file: path)
        }
        if let s = overrides.minScore { c.general.minScore = s }
        if let w = overrides.warmupMinutes { c.general.warmupMinutes = w }
        if let d = overrides.cooldownMinutes { c.general.cooldownMinutes = d }
        if let n = namespace { c.actions.namespace = n }
        c.decision.allowlist += overrides.allow
        c.decision.campaigns += overrides.campaigns
        return c
    }

    func analyzerOptions(_ c: DetectionConfig) -> Analyzer.Options {
        var o = Analyzer.Options()
        let extra: [(Field, [String])] = c.aliases.compactMap { k, v in Field(configName: k).map { ($0, v) } }
        o.keys = KeyTable(extraAliases: extra)
        o.earliestTime =
            Int64(EventTime.daysFromCivil(year: c.input.earliestYear, month: 1, day: 1)) * 86_400
            * EventTime.nanosPerSecond
        o.maxFutureSkew = Int64(c.input.maxFutureSkewSeconds) * EventTime.nanosPerSecond
        return o
    }

    func kubeAuth() throws -> KubeAuth {
        if let u = kubeURL { return KubeAuth(server: u) }
        if let k = kubeconfig { return try KubeAuth.kubeconfig(paths: [k], context: kubeContext) }
        return try KubeAuth.discover(context: kubeContext)
    }

    func kubeClient() throws -> KubeClient {
        do { return try KubeClient(auth: kubeAuth()) } catch {
            throw RuntimeError("cannot reach the Kubernetes API: \(error)")
        }
    }

    /// Remediation for this run: guarded, dry run unless `apply`. Kubernetes is contacted only
    /// when acting, server-dry-running, or given an API URL or kubeconfig.
    func remediator(_ c: DetectionConfig) throws -> Remediator {
        let mode: Remediator.Mode
        switch actionMode {
        case .dryRun: mode = .dryRun
        case .serverDryRun: mode = .serverDryRun
        case .apply: mode = .apply
        }
        var client: KubeClient?
        var unreachable: String?
        if actionMode != .dryRun || kubeURL != nil || kubeconfig != nil {
            do { client = try kubeClient() } catch {
                // actions on the database or through hooks need no cluster: those that do fail, each saying why
                unreachable = "\(error)"
                Stderr.write(
                    "promowatch: \(TerminalText.safe(unreachable!, maxLength: 500)); actions that need it will fail\n")
            }
        }
        let r = Remediator(config: c.actions, decision: c.decision, mode: mode, client: client)
        r.unreachable = unreachable
        r.environment = ProcessInfo.processInfo.environment  // hook headers' secrets
        r.instance = ProcessInfo.processInfo.hostName
        return r
    }

    /// `--metrics-listen`: the endpoint, listening (nil without the flag).
    func metricsServer() throws -> MetricsServer? {
        try metricsListen.map { a in
            do {
                let m = try MetricsServer(listen: a)
                Stderr.write("promowatch: metrics on port \(m.port) at /metrics\n")
                return m
            } catch { throw RuntimeError("\(error)") }
        }
    }

    /// The diagnosis step of a run, and the database action on the same connection: opened only
    /// when `diagnostics.postgres` (or `$PROMOWATCH_DIAGNOSTICS_DATABASE_URL`) is set. A database
    /// that cannot be reached leaves detection running: its findings say why they are not diagnosed.
    func diagnostician(_ c: DetectionConfig, remediator: Remediator) -> Diagnostician {
        // the pods through the actions' client, else the API this run can find (in-cluster,
        // $KUBECONFIG, ~/.kube/config), connected only when a latency finding needs it
        let settings = self
        let pods: () throws -> PodDiagnostics = {
            PodDiagnostics(
                client: try remediator.kubeClient ?? settings.kubeClient(), namespace: c.actions.namespace,
                selector: c.diagnostics.podSelector)
        }
        let url = c.diagnostics.postgres ?? ProcessInfo.processInfo.environment["PROMOWATCH_DIAGNOSTICS_DATABASE_URL"]
        guard let url, !url.isEmpty else {
            return Diagnostician(config: c, database: nil, pods: pods, now: Analyzer.now)
        }
        do {
            let conn = try PGConnection(conninfo: url)
            remediator.database = IdleConnectionTerminator(connection: conn)
            return Diagnostician(
                config: c, database: DatabaseDiagnostics(connection: conn), pods: pods, now: Analyzer.now)
        } catch {
            Stderr.write("promowatch: diagnostics: \(TerminalText.safe(String(describing: error), maxLength: 500))\n")
            return Diagnostician(
                config: c, database: nil, unavailable: "the diagnostics database cannot be reached", pods: pods,
                now: Analyzer.now)
        }
    }
}

/// Where state lives: PostgreSQL (a URL, or `$PROMOWATCH_DATABASE_URL`) or the embedded default,
/// a local directory (`$PROMOWATCH_STATE_DIR`, else `~/.local/state/promowatch`).
public struct StoreLocation: Sendable {
    public var databaseURL: String?
    public var stateDirectory: String?
    public init(databaseURL: String? = nil, stateDirectory: String? = nil) {
        self.databaseURL = databaseURL
        self.stateDirectory = stateDirectory
    }

    func open() throws -> StateStore {
        let env = ProcessInfo.processInfo.environment
        let url = databaseURL ?? env["PROMOWATCH_DATABASE_URL"]
        let dir =
            stateDirectory ?? env["PROMOWATCH_STATE_DIR"]
            ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.local/state/promowatch")
        let store = try openStore(databaseURL: url, stateDirectory: dir)
        try store.migrate()
        return store
    }
}

/// A path that names a regular file (or a gzip of one): it can be read again, from the start.
func isRegularFile(_ path: String) -> Bool {
    var st = stat()
    return path != "-" && stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

/// Reads every input in turn; a failing one is reported and the rest still read.
/// Returns whether any failed.
func readAll(_ paths: [String], into analyzer: Analyzer) -> Bool {
    var failed = false
    for path in paths {
        do { try analyzer.run(path: path) } catch {
            failed = true
            Stderr.write("promowatch: \(TerminalText.safe(String(describing: error), maxLength: 500))\n")
        }
    }
    return failed
}

/// Who a run is, for the audit: the command and the host (in Kubernetes, the pod's name).
func actor(_ command: String) -> String {
    "\(command)@\(ProcessInfo.processInfo.hostName)"
}

extension Remediator {
    /// The guardrails remember what earlier runs applied (from the audit), so caps, cooldowns and
    /// provider holds span runs and leaders.
    func remember(from st: StateStore) throws {
        var flags: [String: [(kind: ProposedAction.Kind, time: Int64)]] = [:]
        var causes: [String: [Int64: String]] = [:]  // per provider: switch-off time → its finding
        for a in try st.actions(limit: 1000) where !a.dryRun && ActionOutcome(text: a.outcome)?.isApplied == true {
            guard let kind = ProposedAction.Kind(rawValue: a.kind) else { continue }
            guardrails.remember(kind: kind, target: a.target, at: a.time)
            guard kind != .blacklistCoupon else { continue }
            let p = a.target.lowercased()
            flags[p, default: []].append((kind, a.time))
            if kind == .disableProvider { causes[p, default: [:]][a.time] = a.findingFingerprint }
        }
        // breakers still open or on trial, with their hold (a backoff included)
        let d = guardrails.config
        for (p, rows) in flags.sorted(by: { $0.key < $1.key }) {
            guard
                let s = BreakerHistory.replay(
                    rows, holdMinutes: d.providerHoldMinutes, maxHoldMinutes: d.maxProviderHoldMinutes,
                    verifyMinutes: d.verifyMinutes)
            else { continue }
            restoreBreaker(
                p, openedAt: s.openedAt, cause: causes[p]?[s.openedAt] ?? "", holdMinutes: s.holdMinutes,
                trialAt: s.trialAt)
        }
    }
}

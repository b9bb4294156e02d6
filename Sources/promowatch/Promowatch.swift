import ArgumentParser
import PromowatchCore
import PromowatchRuntime

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Promowatch: ParsableCommand {
    static let version = "0.3.0"

    static let configuration = CommandConfiguration(
        commandName: "promowatch",
        abstract: "Watches checkout logs for promotion abuse and payment-gateway failures.",
        discussion: """
            With no subcommand and standard input not a terminal, promowatch runs 'watch':
              kubectl logs -f -l app=checkout --prefix --timestamps | promowatch

            Examples:
              promowatch analyze fixtures/checkout-sample.log.gz
              promowatch analyze --format json archive/*.log.gz
              kubectl logs -l app=checkout --prefix --timestamps | promowatch analyze
              promowatch watch --config config/promowatch.yaml < /var/log/containers/checkout.log

            Exit status:
              0   done (findings or not)
              1   a runtime failure: an input that cannot be read (the others are still read), a bad
                  configuration file, the store or the Kubernetes API unreachable; one line on stderr
              3   analyze --fail-on SEVERITY: a finding at least that severe was reported
              64  a mistake in the command line (usage printed)
            """,
        version: version,
        subcommands: [Analyze.self, Watch.self, Cron.self, History.self, Rollback.self],
        // `watch` is the default; on a terminal with nothing piped in, Watch shows this help instead
        defaultSubcommand: Watch.self
    )
}

extension OutputFormat: ExpressibleByArgument {}

extension Severity: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

/// Runs a runtime entry point: a runtime failure prints one line (no usage text) and exits 1;
/// an unreadable input exits 1 after everything else was read; `failOn` exits 3 when a finding
/// at least that severe was reported.
func runtime(failOn: Severity? = nil, _ body: () throws -> RunResult) throws {
    let result: RunResult
    do { result = try body() } catch {
        Stderr.fail(error)
        throw ExitCode(ExitStatus.failure)
    }
    if result.inputsFailed { throw ExitCode(ExitStatus.failure) }
    if let limit = failOn, let worst = result.worstSeverity, worst <= limit { throw ExitCode(ExitStatus.findings) }
}

/// Options shared by the commands that read logs.
struct CommonOptions: ParsableArguments {
    @Option(
        help:
            "Output format: json (one object per line; the last is the summary) or text. Default: text on a terminal, json otherwise."
    )
    var format: OutputFormat?

    @Option(
        help:
            "Configuration file (YAML, see config/promowatch.yaml). Default: $PROMOWATCH_CONFIG, else built-in defaults."
    )
    var config: String?

    @Option(help: "How many coupons and providers to list in the summary (0 = all).")
    var top: Int = 20

    @Option(name: .customLong("min-score"), help: "Override general.min_score: -log10 tail probability for an anomaly.")
    var minScore: Double?

    @Option(name: .customLong("warmup-minutes"), help: "Override general.warmup_minutes.")
    var warmupMinutes: Int?

    @Option(name: .customLong("cooldown-minutes"), help: "Override general.cooldown_minutes.")
    var cooldownMinutes: Int?

    @Option(
        name: .customLong("allow"),
        help: "A coupon code that must never be blacklisted (repeatable; added to decision.allowlist).")
    var allow: [String] = []

    @Option(name: .customLong("campaign"), help: "A known campaign code (repeatable; added to decision.campaigns).")
    var campaign: [String] = []

    @Flag(name: .customLong("no-detect"), help: "Only count events; no findings.")
    var noDetect = false

    @Flag(help: "Carry out proposed actions through the Kubernetes API (default: dry run, print what would change).")
    var apply = false

    @Flag(
        name: .customLong("server-dry-run"),
        help: "Send the changes with dryRun=All: the API server validates, nothing is stored.")
    var serverDryRun = false

    @Option(
        name: .customLong("kube-url"),
        help: "Kubernetes API URL without credentials, e.g. http://127.0.0.1:8001 for `kubectl proxy`.")
    var kubeURL: String?

    @Option(
        name: .customLong("kubeconfig"),
        help: "kubeconfig file (default: in-cluster service account, else $KUBECONFIG or ~/.kube/config).")
    var kubeconfig: String?

    @Option(name: .customLong("context"), help: "kubeconfig context to use (as kubectl's --context).")
    var context: String?

    @Option(
        name: [.customLong("namespace"), .customShort("n")],
        help: "Namespace of the checkout and its ConfigMap (as kubectl's -n; overrides actions.namespace).")
    var namespace: String?

    func validate() throws {
        if let n = namespace, !LabelSelector.isValue(n) || n.isEmpty {
            throw ValidationError("--namespace must be a Kubernetes name")
        }
        if top < 0 { throw ValidationError("--top must be 0 or more") }
        if let s = minScore, !(s >= 0) { throw ValidationError("--min-score must be 0 or more") }
        if let w = warmupMinutes, w < 0 { throw ValidationError("--warmup-minutes must be 0 or more") }
        if let c = cooldownMinutes, c < 0 { throw ValidationError("--cooldown-minutes must be 0 or more") }
    }

    var settings: RunSettings {
        var s = RunSettings()
        s.configFile = config
        s.overrides.minScore = minScore
        s.overrides.warmupMinutes = warmupMinutes
        s.overrides.cooldownMinutes = cooldownMinutes
        s.overrides.allow = allow
        s.overrides.campaigns = campaign
        s.format = format
        s.top = top
        s.detect = !noDetect
        s.actionMode = apply ? .apply : (serverDryRun ? .serverDryRun : .dryRun)
        s.kubeURL = kubeURL
        s.kubeconfig = kubeconfig
        s.kubeContext = context
        s.namespace = namespace
        return s
    }
}

/// Where state lives.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: "PostgreSQL URI or keyword string (default: $PROMOWATCH_DATABASE_URL; none: the embedded store).")
    var databaseURL: String?

    @Option(
        name: .customLong("state-dir"),
        help: "Directory of the embedded store (default: $PROMOWATCH_STATE_DIR, else ~/.local/state/promowatch).")
    var stateDir: String?

    var location: StoreLocation { StoreLocation(databaseURL: databaseURL, stateDirectory: stateDir) }
}

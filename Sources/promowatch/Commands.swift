import ArgumentParser
import PromowatchCore
import PromowatchRuntime

#if canImport(Glibc)
    import Glibc
#endif

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read logs (files, gzip files or stdin) and report findings and totals.",
        discussion: """
            Inputs may be plain or gzip (detected by content), in any framing of the log contract:
            plain, kubectl --prefix/--timestamps, CRI node files, Docker json-file; payloads in
            JSON or logfmt. With no FILE, or FILE '-', reads standard input. Results do not depend
            on line order (kubectl logs -l prints one pod after another).

            Examples:
              promowatch analyze fixtures/checkout-sample.log.gz
              promowatch analyze --format json a.log b.log.gz
              promowatch analyze --fail-on P1 archive/today.log.gz   # exit 3 on a P0 or P1 finding
              zcat archive/*.gz | promowatch analyze -
              promowatch analyze --report day.html archive/today.log.gz
            """
    )

    @Argument(help: "Log files to read ('-' = standard input). Default: standard input.")
    var files: [String] = []

    @Option(
        name: .customLong("fail-on"),
        help: "Exit with status 3 when a finding this severe or worse is reported (P0, P1, P2, P3).")
    var failOn: Severity?

    @Option(help: "Also write a self-contained HTML report with charts (opens offline, prints on A4).")
    var report: String?

    @OptionGroup var options: CommonOptions

    func run() throws {
        var settings = options.settings
        settings.reportPath = report
        try runtime(failOn: failOn) { try AnalyzeRun.run(settings, inputs: files) }
    }
}

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a live log stream and report findings as they happen.",
        discussion: """
            Reads standard input (or FILEs in turn) and prints each finding within a second of the
            line that triggers it; while input is idle, windows are still evaluated and output flushed.

            Examples:
              kubectl logs -f -l app=checkout --prefix --timestamps | promowatch watch
              tail -F /var/log/containers/checkout-*.log | promowatch watch --format json
            """
    )

    @Argument(help: "Inputs to follow ('-' = standard input). Default: standard input.")
    var files: [String] = []

    @Flag(
        help:
            "Scale out: publish aggregates to PostgreSQL (--database-url); the group's leader detects and acts for all."
    )
    var shared = false

    @Option(help: "The --shared group (instances of one group share detection).")
    var group = "default"

    @Option(help: "This instance's name in the --shared group (default: host name and process id).")
    var instance: String?

    @Option(
        help:
            "Serve Prometheus metrics at http://ADDR/metrics (host:port, :port or port; 0 picks a free port). Off by default."
    )
    var metricsListen: String?

    @Option(
        help: ArgumentHelp(
            "Evaluate the windows each time event time advances this many seconds (1-3600).",
            discussion:
                "A replay (every input a file) is evaluated on event time only, so it is judged as it was live, at any speed; a pipe also within 100 ms on the clock.",
            valueName: "seconds"))
    var evaluateEvery = 5

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: CommonOptions

    func validate() throws {
        guard (1...3600).contains(evaluateEvery) else {
            throw ValidationError("--evaluate-every must be 1 to 3600 seconds, not \(evaluateEvery)")
        }
    }

    func run() throws {
        if files.isEmpty && isatty(0) != 0 && !CommandLine.arguments.dropFirst().contains("watch") {
            print(Promowatch.helpMessage())  // bare `promowatch` on a terminal
            return
        }
        var settings = options.settings
        settings.metricsListen = metricsListen
        settings.evaluateEverySeconds = evaluateEvery
        if shared {
            try runtime {
                try SharedWatchRun.run(
                    settings, inputs: files, store: store.location, group: group, instance: instance)
            }
        } else {
            try runtime { try WatchRun.run(settings, inputs: files) }
        }
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

    @Option(
        name: .customLong("from"),
        help: "Log file to read ('-' = standard input). Repeatable. Default: pod logs through the API.")
    var from: [String] = []

    @Option(help: "Label selector of the checkout pods (API mode).")
    var selector = "app=checkout"

    @Option(help: "Write this run's metrics for node-exporter's textfile collector (a .prom file).")
    var metricsTextfile: String?

    @OptionGroup var store: StoreOptions
    @OptionGroup var options: CommonOptions

    func run() throws {
        var settings = options.settings
        settings.metricsTextfile = metricsTextfile
        try runtime { try CronRun.run(settings, from: from, selector: selector, store: store.location) }
    }
}

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Recent findings and actions from the store.")

    @Option(help: "How many of each to show.") var limit = 20
    @Option(help: "json or text (default: text on a terminal).") var format: OutputFormat?
    @Flag(help: "Show the stored hour-of-day baselines instead (per coupon and per provider).") var baselines = false
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runtime {
            try HistoryRun.run(store: store.location, limit: limit, format: format, baselines: baselines)
            return RunResult()
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
        try runtime {
            try RollbackRun.run(options.settings, actionID: id, store: store.location)
            return RunResult()
        }
    }
}

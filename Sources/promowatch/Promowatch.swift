import ArgumentParser
import PromowatchCore
import PromowatchEngine
import PromowatchInput
import PromowatchReport
#if canImport(Glibc)
import Glibc
#endif

@main
struct Promowatch: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "promowatch",
        abstract: "Watches checkout logs for promotion abuse and payment-gateway failures.",
        discussion: """
        Examples:
          promowatch analyze fixtures/checkout-sample.log.gz
          promowatch analyze --format json archive/*.log.gz
          kubectl logs -l app=checkout --prefix --timestamps | promowatch analyze
        """,
        version: version,
        subcommands: [Analyze.self]
    )
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case json, text
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read logs (files, gzip files or stdin) and print what they contain.",
        discussion: """
        Inputs may be plain or gzip (detected by content), in any framing of the log contract:
        plain, kubectl --prefix/--timestamps, CRI node files, Docker json-file; payloads in
        JSON or logfmt. With no FILE, or FILE '-', reads standard input.

        Examples:
          promowatch analyze fixtures/checkout-sample.log.gz
          promowatch analyze --format json a.log b.log.gz
          zcat archive/*.gz | promowatch analyze -
        """
    )

    @Argument(help: "Log files to read ('-' = standard input). Default: standard input.")
    var files: [String] = []

    @Option(help: "Output format: json (one object per line; the last is the summary) or text. Default: text on a terminal, json otherwise.")
    var format: OutputFormat?

    @Option(help: "How many coupons and providers to list in the summary (0 = all).")
    var top: Int = 20

    func validate() throws {
        if top < 0 { throw ValidationError("--top must be 0 or more") }
    }

    func run() throws {
        let analyzer = Analyzer()
        var failed = false
        for path in files.isEmpty ? ["-"] : files {
            do { try analyzer.run(path: path) } catch {
                failed = true
                Stderr.write("promowatch: \(TerminalText.safe(String(describing: error), maxLength: 500))\n")
            }
        }
        analyzer.finish()
        let summary = analyzer.summary()
        let fmt = format ?? (isatty(1) != 0 ? .text : .json)
        switch fmt {
        case .json: print(SummaryReport.json(summary, top: top))
        case .text: print(SummaryReport.text(summary, top: top))
        }
        if failed { throw ExitCode(1) }
    }
}

enum Stderr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { b in _ = Glibc.write(2, b.baseAddress, b.count) }
    }
}

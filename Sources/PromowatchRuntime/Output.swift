import PromowatchCore
import PromowatchReport

#if canImport(Glibc)
    import Glibc
#endif

public enum OutputFormat: String, CaseIterable, Sendable {
    case json, text

    /// Text on a terminal, JSON otherwise.
    public static func resolve(_ f: OutputFormat?) -> OutputFormat { f ?? (isatty(1) != 0 ? .text : .json) }
}

/// Writes findings and the summary; the only place output formats meet the run loops.
struct Output {
    let format: OutputFormat
    let top: Int

    func finding(_ f: Finding) {
        switch format {
        case .json: print(FindingReport.json(f))
        case .text: print(FindingReport.text(f))
        }
    }

    func summary(_ s: RunSummary) {
        switch format {
        case .json: print(SummaryReport.json(s, top: top))
        case .text: print("\n" + SummaryReport.text(s, top: top))
        }
        fflush(stdout)
    }
}

/// Diagnostics: unbuffered, one write per message.
public enum Stderr {
    public static func write(_ s: String) {
        var s = s
        s.withUTF8 { b in _ = Glibc.write(2, b.baseAddress, b.count) }
    }
}

extension Stderr {
    /// `promowatch: <error>` in one line, control characters shown escaped.
    public static func fail(_ error: Error) {
        write("promowatch: \(TerminalText.safe(String(describing: error), maxLength: 1000))\n")
    }
}

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

    func step(_ s: ActionStep) {
        switch format {
        case .json: print(StepReport.json(s))
        case .text: print(StepReport.text(s))
        }
    }

    func incident(_ e: IncidentEvent) {
        switch format {
        case .json: print(IncidentReport.json(e))
        case .text: print(IncidentReport.text(e))
        }
    }

    /// Findings, breaker steps and resolved incidents in time order (at one time: findings, then
    /// steps, then resolutions).
    func timeline(_ findings: [Finding], _ steps: ArraySlice<ActionStep>, _ incidents: ArraySlice<IncidentEvent> = []) {
        var items: [(time: Int64, order: Int, index: Int)] = []
        for (i, f) in findings.enumerated() { items.append((f.time, 0, i)) }
        for i in steps.indices { items.append((steps[i].time, 1, i)) }
        for i in incidents.indices { items.append((incidents[i].time, 2, i)) }
        items.sort { ($0.time, $0.order, $0.index) < ($1.time, $1.order, $1.index) }
        for item in items {
            switch item.order {
            case 0: finding(findings[item.index])
            case 1: step(steps[item.index])
            default: incident(incidents[item.index])
            }
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

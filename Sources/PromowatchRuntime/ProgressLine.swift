import Foundation
import PromowatchEngine

#if canImport(Glibc)
    import Glibc
#endif

/// `analyze`'s progress on a terminal: one line on stderr, redrawn at most ten times a second —
/// bytes done of the total (file sizes; for gzip the compressed position), MB/s, the time left
/// and the findings so far. Never drawn when stderr is no terminal or with `--format json`.
final class ProgressLine {
    /// Each input's size (0 for stdin or what cannot be read), and their sum.
    let sizes: [Int]
    let total: Int
    /// The input being read, by index.
    var input = 0
    private var done = 0
    private var findings = 0
    private let started = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false

    /// Nil when no line should be drawn.
    init?(inputs: [String], format: OutputFormat?, isTerminal: Bool = isatty(2) != 0) {
        guard isTerminal, format != .json else { return nil }
        sizes = inputs.map { p in
            guard p != "-", let a = try? FileManager.default.attributesOfItem(atPath: p),
                let size = a[.size] as? NSNumber
            else { return 0 }
            return size.intValue
        }
        total = sizes.reduce(0, +)
    }

    /// After each block: `position` bytes into the current input.
    func update(position: Int, findings: Int) {
        done = sizes[..<min(input, sizes.count)].reduce(0, +) + position
        self.findings = findings
        guard Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
        draw()
    }

    func draw() {
        lastDraw = Date()
        let secs = max(Date().timeIntervalSince(started), 0.001)
        let rate = Double(done) / secs
        var line = "\(mb(done))"
        if total > 0 {
            line += " of \(mb(total)) (\(min(100, done * 100 / max(total, 1)))%)"
        }
        line += ", \(String(format: "%.0f", rate / 1e6)) MB/s"
        if total > 0 && rate > 0 {
            let left = Int(Double(max(0, total - done)) / rate)
            line += ", ETA \(left / 60):\(String(format: "%02d", left % 60))"
        }
        line += ", \(findings) findings so far"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        drawn = true
    }

    /// Clears the line (the findings and summary follow on stdout).
    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func mb(_ b: Int) -> String { String(format: "%.1f MB", Double(b) / 1e6) }
}

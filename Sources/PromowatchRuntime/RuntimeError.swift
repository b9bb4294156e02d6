import PromowatchCore

/// A run that cannot go on, in one line for people: the CLI prints `promowatch: <message>` and
/// exits 1 (no usage text; that is for mistakes in the command line).
public struct RuntimeError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How a run ended, for the exit status.
public struct RunResult: Sendable, Equatable {
    /// Some input could not be read (each was reported; the others were read).
    public var inputsFailed = false
    /// The most severe finding reported (nil: none).
    public var worstSeverity: Severity?
    public init() {}

    mutating func note(_ findings: [Finding]) {
        for f in findings where worstSeverity == nil || f.severity < worstSeverity! { worstSeverity = f.severity }
    }
}

/// Exit statuses, documented in `promowatch --help` and the README.
public enum ExitStatus {
    public static let ok: Int32 = 0
    /// A runtime failure (an unreadable input, the store or the API unreachable, a bad config file).
    public static let failure: Int32 = 1
    /// `analyze --fail-on SEVERITY`: a finding at least that severe was reported.
    public static let findings: Int32 = 3
    /// A mistake in the command line (ArgumentParser's usage error, EX_USAGE).
    public static let usage: Int32 = 64
}

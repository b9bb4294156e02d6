import PromowatchCore

/// A value in a generated log record.
public enum Value: Sendable {
    case string(String)
    case number(String)  // rendered bare in JSON and logfmt
    case bool(Bool)
    case object([(String, Value)])
}

/// One generated record before rendering: what it is (for the truth) and its fields.
public struct Record: Sendable {
    public var time: Int64
    public var pod: Int
    /// Kinds the contract says this record is (the truth).
    public var kinds: EventKinds
    /// The level word (Kratos std logger) and fields, in order. The first is the timestamp field.
    public var level: String
    public var fields: [(String, Value)]
    /// Plain-text lines (panics, stack traces): rendered as they are, each line its own record.
    public var plainLines: [String]? = nil
    /// Truth details
    public var coupon: String? = nil
    public var discount: Double = 0
    public var provider: String? = nil
    /// Incident label, if the record belongs to an injected incident.
    public var incident: Int? = nil

    public init(time: Int64, pod: Int, kinds: EventKinds, level: String = "INFO", fields: [(String, Value)]) {
        self.time = time
        self.pod = pod
        self.kinds = kinds
        self.level = level
        self.fields = fields
    }
}

/// Payload formats of contract section 2.
public enum PayloadFormat: String, CaseIterable, Sendable {
    case json, logfmt, kratos
}

/// Outer framings of contract section 1.
public enum Framing: String, CaseIterable, Sendable {
    case plain
    case prefix  // kubectl --prefix
    case timestamps  // kubectl --timestamps
    case prefixTimestamps  // kubectl --prefix --timestamps
    case timestampsPrefix  // the other order, seen from some tooling
    case cri  // containerd / CRI-O node files, with P partials
    case docker  // Docker json-file
}

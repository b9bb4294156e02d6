/// The kinds of event one log line can be. A line can be several kinds at once
/// (a payment failure whose error text says `deadline exceeded` is also a `timeout`),
/// so this is a bit set. Names follow `log-contract.md` section 4 (`summary.events`).
public struct EventKinds: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let promotionApplied = EventKinds(rawValue: 1 << 0)
    public static let promotionRejected = EventKinds(rawValue: 1 << 1)
    public static let paymentSucceeded = EventKinds(rawValue: 1 << 2)
    public static let paymentDeclined = EventKinds(rawValue: 1 << 3)
    public static let paymentProviderFailure = EventKinds(rawValue: 1 << 4)
    public static let compensationFailure = EventKinds(rawValue: 1 << 5)
    public static let request = EventKinds(rawValue: 1 << 6)
    public static let timeout = EventKinds(rawValue: 1 << 7)
    public static let dbSaturation = EventKinds(rawValue: 1 << 8)

    public static let promotion: EventKinds = [.promotionApplied, .promotionRejected]
    public static let payment: EventKinds = [.paymentSucceeded, .paymentDeclined, .paymentProviderFailure]

    /// Every kind with its contract name, in the contract's order.
    public static let all: [(kind: EventKinds, name: String)] = [
        (.promotionApplied, "promotion_applied"),
        (.promotionRejected, "promotion_rejected"),
        (.paymentSucceeded, "payment_succeeded"),
        (.paymentDeclined, "payment_declined"),
        (.paymentProviderFailure, "payment_provider_failure"),
        (.compensationFailure, "compensation_failure"),
        (.request, "request"),
        (.timeout, "timeout"),
        (.dbSaturation, "db_saturation"),
    ]
}

/// Identifier of an interned string (coupon, user, ip, provider, card, source).
/// `Symbol.none` = the field was absent; `Symbol.overflow` = the table was full.
public typealias Symbol = Int32

extension Symbol {
    public static let none: Symbol = -1
    public static let overflow: Symbol = -2
}

/// One event, as the parser hands it to aggregation and detection.
/// Plain value type: ids instead of strings, `Double.nan` for absent numbers.
public struct Event: Sendable {
    public var kinds: EventKinds = []
    /// Neither the payload nor the framing said when it happened: `time` is when it was read.
    public var undated = false
    /// Event time, nanoseconds since the Unix epoch (UTC).
    public var time: Int64 = 0
    /// Interned coupon code (upper-case) and provider (lower-case). Users, ips and cards are
    /// not interned (unbounded in an attack): they travel as hashes, and a consumer that needs
    /// the text asks the extractor while it handles the event.
    public var coupon: Symbol = .none
    public var provider: Symbol = .none
    /// Pod/container the line came from (kubectl `--prefix`), `.none` when unknown.
    public var source: Symbol = .none
    /// 64-bit hashes of the raw values, available even when a table overflowed;
    /// sketches (distinct counts, heavy hitters) work on these. 0 = absent.
    public var couponHash: UInt64 = 0
    public var userHash: UInt64 = 0
    public var ipHash: UInt64 = 0
    public var cardHash: UInt64 = 0
    public var discount: Double = .nan
    public var subtotal: Double = .nan
    public var amount: Double = .nan
    /// Request latency in milliseconds (from `latency_ms`, `duration_ms`, `latency`, `duration`).
    public var latencyMs: Double = .nan

    @inlinable public init() {}
}

/// Counters per event kind (contract section 4, `summary.events`).
public struct EventCounts: Sendable, Equatable {
    public var promotionApplied = 0
    public var promotionRejected = 0
    public var paymentSucceeded = 0
    public var paymentDeclined = 0
    public var paymentProviderFailure = 0
    public var compensationFailure = 0
    public var request = 0
    public var timeout = 0
    public var dbSaturation = 0

    public init() {}

    @inlinable public mutating func add(_ k: EventKinds) {
        let r = k.rawValue
        promotionApplied &+= Int(r & 1)
        promotionRejected &+= Int((r >> 1) & 1)
        paymentSucceeded &+= Int((r >> 2) & 1)
        paymentDeclined &+= Int((r >> 3) & 1)
        paymentProviderFailure &+= Int((r >> 4) & 1)
        compensationFailure &+= Int((r >> 5) & 1)
        request &+= Int((r >> 6) & 1)
        timeout &+= Int((r >> 7) & 1)
        dbSaturation &+= Int((r >> 8) & 1)
    }

    public mutating func merge(_ o: EventCounts) {
        promotionApplied += o.promotionApplied
        promotionRejected += o.promotionRejected
        paymentSucceeded += o.paymentSucceeded
        paymentDeclined += o.paymentDeclined
        paymentProviderFailure += o.paymentProviderFailure
        compensationFailure += o.compensationFailure
        request += o.request
        timeout += o.timeout
        dbSaturation += o.dbSaturation
    }

    public subscript(kind: EventKinds) -> Int {
        switch kind {
        case .promotionApplied: return promotionApplied
        case .promotionRejected: return promotionRejected
        case .paymentSucceeded: return paymentSucceeded
        case .paymentDeclined: return paymentDeclined
        case .paymentProviderFailure: return paymentProviderFailure
        case .compensationFailure: return compensationFailure
        case .request: return request
        case .timeout: return timeout
        case .dbSaturation: return dbSaturation
        default: return 0
        }
    }

    /// `(name, count)` pairs in contract order.
    public var named: [(name: String, count: Int)] {
        EventKinds.all.map { ($0.name, self[$0.kind]) }
    }
}

/// Text of the identities of the event being handled, for the few that end up in findings.
public protocol EventTextSource: AnyObject {
    func userText() -> String?
    func ipText() -> String?
    /// The event's log line (its payload), sanitised as an example (`ExampleText`); nil when
    /// the line is gone.
    func lineText() -> String?
}

extension EventTextSource {
    public func lineText() -> String? { nil }
}

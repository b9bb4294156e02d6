import PromowatchCore

/// Turns one deframed payload into an `Event` (contract section 3): finds the fields,
/// classifies the event by its name, decodes only the values it needs and interns them.
public final class EventExtractor {
    public let scanner: PayloadScanner
    public let coupons: SymbolTable
    public let providers: SymbolTable
    public let sources: SymbolTable
    private let scratch: UnsafeMutablePointer<UInt8>
    private let scratchCapacity: Int
    private var used = 0
    private var base: UnsafePointer<UInt8> = UnsafePointer(bitPattern: 1)!

    public struct Limits: Sendable {
        public var coupons = 200_000, providers = 64, sources = 4096
        public init() {}
    }

    public init(keys: KeyTable = KeyTable(), limits: Limits = Limits(), maxRecordLength: Int = 1 << 20) {
        scanner = PayloadScanner(keys: keys)
        coupons = SymbolTable(maxEntries: limits.coupons, maxBytes: limits.coupons * 32)
        providers = SymbolTable(maxEntries: limits.providers, maxBytes: 4096)
        sources = SymbolTable(maxEntries: limits.sources, maxBytes: limits.sources * 128)
        scratchCapacity = maxRecordLength * 2 + 64
        scratch = .allocate(capacity: scratchCapacity)
    }

    deinit { scratch.deallocate() }

    /// The event in `frame`. `phrases` are the phrase hits already known for the line
    /// (`LineMarker`). `arrival` is used when the line
    /// carries no timestamp at all. An event with empty `kinds` is a skipped line.
    public func extract(_ frame: Frame, phrases: Phrases, arrival: Int64) -> Event {
        var ev = Event()
        if phrases.contains(.timeout) { ev.kinds.insert(.timeout) }
        if phrases.contains(.dbSaturation) { ev.kinds.insert(.dbSaturation) }
        if frame.length > 0 && scanner.scan(frame.payload, frame.length) {
            base = frame.payload
            used = 0
            classify(&ev)
        }
        if ev.kinds.isEmpty { return ev }
        // only events need their time and source
        if let (p, n) = scanner.parsed ? value(.ts) : nil, let t = ByteNumbers.parseTimestamp(p, n) {
            ev.time = t
        } else {
            let ft = frame.time
            ev.time = ft != 0 ? ft : arrival
        }
        if let s = frame.source, frame.sourceLength > 0 { ev.source = sources.intern(s, frame.sourceLength) }
        return ev
    }

    private func classify(_ ev: inout Event) {
        if let (p, n) = value(.name) {
            if Bytes.contains(p, n, "ApplyPromotion") {
                promotion(&ev)
            } else if let success = EventExtractor.paymentOutcome(p, n) {
                payment(&ev, success: success)
            }
            if Bytes.containsLower(p, n, "compensation failed") { ev.kinds.insert(.compensationFailure) }
        }
        if scanner.sawFailedCompensation { ev.kinds.insert(.compensationFailure) }
        if let (p, n) = value(.latencyMs), let v = ByteNumbers.parseDouble(p, n) {
            ev.latencyMs = v; ev.kinds.insert(.request)
        } else if let (p, n) = value(.latency), let v = ByteNumbers.parseDurationMs(p, n) {
            ev.latencyMs = v; ev.kinds.insert(.request)
        }
    }

    // MARK: field access

    /// The decoded bytes of a scalar field, or nil when absent, null, compound or empty.
    @inline(__always)
    func value(_ f: Field) -> (UnsafePointer<UInt8>, Int)? {
        let s = scanner[f]
        switch s.type {
        case .plain, .bare:
            return s.length > 0 ? (base + Int(s.start), Int(s.length)) : nil
        case .escaped:
            let n = Int(s.length)
            guard used + n <= scratchCapacity else { return nil }
            let out = scratch + used
            let m = unescapeString(base + Int(s.start), n, into: out)
            used += m
            return m > 0 ? (UnsafePointer(out), m) : nil
        case .absent, .compound, .null:
            return nil
        }
    }

    /// Whether the key is present with a meaningful value (not null, not an empty string).
    func present(_ f: Field) -> Bool {
        let s = scanner[f]
        switch s.type {
        case .absent, .null: return false
        case .compound: return true
        default: return s.length > 0
        }
    }

    private func number(_ f: Field) -> Double {
        guard let (p, n) = value(f), let v = ByteNumbers.parseDouble(p, n), v.isFinite else { return .nan }
        return v
    }

    enum Case { case asIs, upper, lower }

    /// A value trimmed of surrounding spaces, cut at `cut` (the first address of a
    /// forwarded-for list), case-folded as asked (into scratch when folding).
    private func normalized(_ f: Field, cut: UInt8? = nil, _ fold: Case = .asIs) -> (UnsafePointer<UInt8>, Int)? {
        guard let (p, n0) = value(f) else { return nil }
        var s = 0, n = n0
        if let c = cut, let k = Bytes.find(c, p, from: 0, end: n) { n = k }
        while s < n && Bytes.isSpace(p[s]) { s += 1 }
        while n > s && Bytes.isSpace(p[n - 1]) { n -= 1 }
        guard n > s else { return nil }
        if fold == .asIs { return (p + s, n - s) }
        guard used + (n - s) <= scratchCapacity else { return nil }
        let out = scratch + used
        if fold == .upper { for i in s..<n { out[i - s] = Bytes.upper(p[i]) } } else { for i in s..<n { out[i - s] = Bytes.lower(p[i]) } }
        used += n - s
        return (UnsafePointer(out), n - s)
    }

    private func intern(_ f: Field, into table: SymbolTable, _ fold: Case, limit: Int? = nil) -> (Symbol, UInt64) {
        guard let (p, n) = normalized(f, fold) else { return (.none, 0) }
        let h = ByteHash.hash(p, n)
        return (table.intern(p, n, hash: h, limit: limit), h)
    }

    private func hash(_ f: Field, cut: UInt8? = nil) -> UInt64 {
        guard let (p, n) = normalized(f, cut: cut) else { return 0 }
        return ByteHash.hash(p, n)
    }

    /// The text of a field of the event being handled (valid inside `EventConsumer.consume`):
    /// users, ips and cards are only hashed, this gives their text when a finding needs it.
    public func text(_ f: Field) -> String? {
        let cut: UInt8? = f == .ip ? UInt8(ascii: ",") : nil
        guard let (p, n) = normalized(f, cut: cut, f == .coupon ? .upper : (f == .provider ? .lower : .asIs)) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    // MARK: promotion

    private func promotion(_ ev: inout Event) {
        var applied = true
        if let (p, n) = value(.outcome), let o = EventExtractor.outcome(p, n) {
            applied = o
        } else {
            applied = !present(.errorText)
        }
        ev.kinds.insert(applied ? .promotionApplied : .promotionRejected)
        // Rejected attempts may fill only half the coupon table: an enumeration attack sending
        // millions of invented codes must not leave no room for real codes redeemed later.
        (ev.coupon, ev.couponHash) = intern(.coupon, into: coupons, .upper, limit: applied ? nil : coupons.maxEntries / 2)
        ev.userHash = hash(.user)
        ev.ipHash = hash(.ip, cut: UInt8(ascii: ","))
        ev.discount = number(.discount)
        ev.subtotal = number(.subtotal)
    }

    /// `applied ok success true` = true; `rejected invalid expired not_found failed error false` = false.
    static func outcome(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool? {
        switch n {
        case 2: if Bytes.equalsLower(p, n, "ok") { return true }
        case 4: if Bytes.equalsLower(p, n, "true") { return true }
        case 5:
            if Bytes.equalsLower(p, n, "error") || Bytes.equalsLower(p, n, "false") { return false }
        case 6: if Bytes.equalsLower(p, n, "failed") { return false }
        case 7:
            if Bytes.equalsLower(p, n, "applied") || Bytes.equalsLower(p, n, "success") { return true }
            if Bytes.equalsLower(p, n, "invalid") || Bytes.equalsLower(p, n, "expired") { return false }
        case 8: if Bytes.equalsLower(p, n, "rejected") { return false }
        case 9: if Bytes.equalsLower(p, n, "not_found") { return false }
        default: break
        }
        return nil
    }

    // MARK: payment

    /// true for a successful attempt, false for a failed one, nil when the name is no payment attempt.
    static func paymentOutcome(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool? {
        guard n >= 14, n <= 28, Bytes.lower(p[0]) == UInt8(ascii: "p") else { return nil }
        if Bytes.equalsLower(p, n, "payment authorized") || Bytes.equalsLower(p, n, "payment succeeded")
            || Bytes.equalsLower(p, n, "payment captured") { return true }
        if Bytes.equalsLower(p, n, "payment authorization failed") || Bytes.equalsLower(p, n, "payment failed")
            || Bytes.equalsLower(p, n, "payment declined") { return false }
        return nil
    }

    static let declineCodes: [StaticString] = [
        "card_declined", "insufficient_funds", "do_not_honor", "incorrect_cvc", "incorrect_number",
        "expired_card", "lost_card", "stolen_card", "fraudulent", "generic_decline",
        "invalid_account", "card_not_supported", "pickup_card",
    ]

    static func isDeclineCode(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        for c in declineCodes where Bytes.equalsLower(p, n, c) { return true }
        return false
    }

    private func payment(_ ev: inout Event, success: Bool) {
        if success {
            ev.kinds.insert(.paymentSucceeded)
        } else {
            var decline = false
            if let (p, n) = value(.errorCode) {
                decline = EventExtractor.isDeclineCode(p, n)
            } else if let (p, n) = value(.errorText) {
                // no code key: an error text that is exactly a decline code still is one
                decline = EventExtractor.isDeclineCode(p, n)
            }
            ev.kinds.insert(decline ? .paymentDeclined : .paymentProviderFailure)
        }
        (ev.provider, _) = intern(.provider, into: providers, .lower)
        ev.cardHash = hash(.card)
        ev.userHash = hash(.user)
        ev.ipHash = hash(.ip, cut: UInt8(ascii: ","))
        ev.amount = number(.amount)
    }
}

extension EventExtractor: EventTextSource {
    public func userText() -> String? { text(.user) }
    public func ipText() -> String? { text(.ip) }
}

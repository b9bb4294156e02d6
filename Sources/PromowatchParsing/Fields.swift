/// The logical fields of contract section 3, and the log keys that feed them.
public enum Field: UInt8, CaseIterable, Sendable {
    case name, ts, coupon, outcome, discount, subtotal, user, ip, provider
    case errorCode, errorText, amount, card, latencyMs, latency
    /// go-kratos logging middleware (contract §3, Kratos request lines).
    case operation, args, code, component, traceId
    /// A log shipper's record: the key holding the whole line the service wrote (Fluent Bit and
    /// Fluentd `log`, Google Cloud Logging `textPayload`), read when nothing else names the event.
    case line

    public static let count = Field.allCases.count

    /// A value of an event (not its name, time, latency or the middleware's request keys): what a
    /// dotted key's last part may stand for (`PayloadScanner.lookup`).
    var isEventValue: Bool {
        switch self {
        case .coupon, .outcome, .discount, .subtotal, .user, .ip, .provider, .errorCode, .errorText, .amount, .card:
            return true
        default: return false
        }
    }

    /// The field's name in configuration (`aliases:` keys).
    public var configName: String {
        switch self {
        case .errorCode: return "error_code"
        case .errorText: return "error_text"
        case .latencyMs: return "latency_ms"
        case .traceId: return "trace_id"
        default: return String(describing: self)
        }
    }

    public init?(configName: String) {
        guard let f = Field.allCases.first(where: { $0.configName == configName }) else { return nil }
        self = f
    }

    /// The contract's built-in aliases, in priority order (the first present key wins;
    /// a later duplicate of the same key replaces an earlier one, as in most JSON decoders).
    public static let builtinAliases: [(Field, [String])] = [
        // `operation` is a name too, read between `event` and `op` (`EventExtractor.name`); it is
        // its own field because the middleware's request lines are recognised by it.
        (.name, ["msg", "message", "event", "op"]),
        (.ts, ["ts", "time", "timestamp", "@timestamp"]),
        (.coupon, ["coupon", "coupon_code", "couponCode", "promo_code", "promoCode", "promotion_code"]),
        (.outcome, ["status", "result", "outcome"]),
        (.discount, ["discount", "discount_total", "DiscountTotal", "discountTotal", "discount_amount"]),
        (.subtotal, ["subtotal", "order_total", "cart_total", "orderTotal", "cartTotal"]),
        (.user, ["user_id", "userId", "customer_id", "customerId", "account_id", "user"]),
        (.ip, ["ip", "client_ip", "clientIp", "remote_addr", "x_forwarded_for"]),
        (.provider, ["provider", "gateway", "psp", "payment_provider"]),
        (.errorCode, ["error_code", "decline_code", "reason"]),
        (.errorText, ["error", "err"]),
        (.amount, ["amount", "amount_total"]),
        (.card, ["card_fingerprint", "card_fp", "fingerprint"]),
        (.latencyMs, ["latency_ms", "duration_ms"]),
        (.latency, ["latency", "duration"]),
        (.operation, ["operation"]),
        (.args, ["args"]),
        (.code, ["code"]),
        (.component, ["component", "kind"]),
        (.traceId, ["trace.id", "trace_id", "traceId", "traceID"]),
        (.line, ["log", "textPayload"]),
    ]
}

/// Maps key bytes to `(field, rank)` with one hash probe and an exact compare.
/// Built once from the alias lists (built-ins plus any from configuration).
public final class KeyTable: @unchecked Sendable {
    struct Entry {
        var w0: UInt64
        var w1: UInt64
        var len: Int32
        var field: Field
        var rank: UInt8
    }
    /// Open-addressed, `len == 0` = empty. One allocation for the table's lifetime.
    private let entries: UnsafeMutablePointer<Entry>
    private let mask: Int
    public static let maxKeyLength = 32

    public init(extraAliases: [(Field, [String])] = []) {
        var byField: [Field: [String]] = [:]
        for (f, keys) in Field.builtinAliases { byField[f, default: []] += keys }
        for (f, keys) in extraAliases {
            for k in keys where !(byField[f] ?? []).contains(k) { byField[f, default: []].append(k) }
        }
        let size = 1024
        mask = size - 1
        let entries = UnsafeMutablePointer<Entry>.allocate(capacity: size)
        entries.initialize(repeating: Entry(w0: 0, w1: 0, len: 0, field: .name, rank: 0), count: size)
        var longKeys: [String: Field] = [:]
        // every alias as written first, then its other spellings (`promotionCode`, `UserID`) at
        // its rank: a spelling never displaces an alias written for another field
        let written = Field.allCases.flatMap { f in (byField[f] ?? []).enumerated().map { (f, $1, $0) } }
        let respelled = written.flatMap { f, key, rank in KeyTable.otherSpellings(of: key).map { (f, $0, rank) } }
        var spellings: [Field: [String]] = [:]
        for (f, key, rank) in written + respelled {
            if spellings[f]?.contains(key) == true { continue }
            spellings[f, default: []].append(key)
            if key.utf8.count > 16 {
                if longKeys[key] == nil { longKeys[key] = f }
                continue
            }
            var bytes = Array(key.utf8)
            guard !bytes.isEmpty else { continue }
            bytes.withUnsafeMutableBufferPointer { b in
                let p = UnsafePointer(b.baseAddress!)
                let (w0, w1) = KeyTable.words(p, b.count, readable: b.count)
                var i = KeyTable.slot(w0, w1, b.count) & (size - 1)
                while entries[i].len != 0 {
                    let e = entries[i]
                    if e.len == Int32(b.count) && e.w0 == w0 && e.w1 == w1 { return }
                    i = (i + 1) & (size - 1)
                }
                entries[i] = Entry(w0: w0, w1: w1, len: Int32(b.count), field: f, rank: UInt8(min(rank, 15)))
            }
        }
        self.entries = entries
        self.longKeys = longKeys
        self.aliasList = byField
        self.spellingList = spellings
    }

    deinit { entries.deallocate() }

    private var longKeys: [String: Field]
    private var aliasList: [Field: [String]] = [:]

    private var spellingList: [Field: [String]] = [:]

    /// The keys read for a field, built-in and configured, as written.
    public func aliases(for f: Field) -> [String] { aliasList[f] ?? [] }

    /// Those keys and their other spellings (`otherSpellings`), as the table reads them.
    public func spellings(for f: Field) -> [String] { spellingList[f] ?? [] }

    /// The same key in the other conventions Go services write: snake case (`promotion_code`),
    /// lower camel case (`promotionCode`, protojson's names), Go field names (`PromotionCode`,
    /// what `encoding/json` and `%+v` print for a struct without tags) and Go's initialisms
    /// (`UserID`, `clientIP`). Keys with other punctuation (`trace.id`, `@timestamp`) have none.
    static func otherSpellings(of key: String) -> [String] {
        guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            return []
        }
        var words: [String] = []
        var word = ""
        for c in key {
            if c == "_" {
                if !word.isEmpty { words.append(word) }
                word = ""
            } else if c.isUppercase && !word.isEmpty && !(word.last!.isUppercase) {
                words.append(word)
                word = String(c)
            } else {
                word.append(c)
            }
        }
        if !word.isEmpty { words.append(word) }
        words = words.map { $0.lowercased() }
        let initialisms: Set<String> = ["id", "ip", "url", "uri"]
        func cap(_ w: String) -> String { w.prefix(1).uppercased() + w.dropFirst() }
        func goCap(_ w: String) -> String { initialisms.contains(w) ? w.uppercased() : cap(w) }
        var out = [
            words.joined(separator: "_"),
            words[0] + words.dropFirst().map(cap).joined(),
            words.map(cap).joined(),
            words[0] + words.dropFirst().map(goCap).joined(),
            words.map(goCap).joined(),
        ]
        out.removeAll { $0 == key }
        var seen: Set<String> = []
        return out.filter { seen.insert($0).inserted }
    }

    /// The key's bytes as two little-endian words, zero beyond its length (keys of 1...16 bytes).
    /// `readable` says how many bytes from `p` may be read: with 16 or more the words are two
    /// plain loads and a mask, with no branch on the length.
    @inline(__always)
    static func words(_ p: UnsafePointer<UInt8>, _ n: Int, readable: Int) -> (UInt64, UInt64) {
        let lo = n >= 8 ? ~UInt64(0) : (UInt64(1) << UInt64(truncatingIfNeeded: n &* 8)) &- 1
        let hn = n &- 8
        let hi = hn <= 0 ? 0 : (hn >= 8 ? ~UInt64(0) : (UInt64(1) << UInt64(truncatingIfNeeded: hn &* 8)) &- 1)
        if readable >= 16 {
            let r = UnsafeRawPointer(p)
            return (r.loadUnaligned(as: UInt64.self) & lo, r.loadUnaligned(fromByteOffset: 8, as: UInt64.self) & hi)
        }
        var w0: UInt64 = 0
        var w1: UInt64 = 0
        var k = 0
        while k < n && k < 8 {
            w0 |= UInt64(p[k]) << UInt64(k &* 8)
            k &+= 1
        }
        while k < n && k < 16 {
            w1 |= UInt64(p[k]) << UInt64((k &- 8) &* 8)
            k &+= 1
        }
        return (w0, w1)
    }

    @inline(__always)
    static func slot(_ w0: UInt64, _ w1: UInt64, _ n: Int) -> Int {
        let h = (w0 &* 0x9E37_79B9_7F4A_7C15) ^ (w1 &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(n)
        return Int(truncatingIfNeeded: h >> 40)
    }

    /// The field and alias rank of a key, or nil for keys promowatch does not read.
    @inline(__always)
    public func lookup(_ p: UnsafePointer<UInt8>, _ n: Int, readable: Int = 0) -> (field: Field, rank: UInt8)? {
        guard n > 0, n <= 16 else { return n > 16 && n <= KeyTable.maxKeyLength ? lookupLong(p, n) : nil }
        let (w0, w1) = KeyTable.words(p, n, readable: readable)
        var i = KeyTable.slot(w0, w1, n) & mask
        while true {
            let e = entries[i]
            if e.len == 0 { return nil }
            if e.len == Int32(n) && e.w0 == w0 && e.w1 == w1 { return (e.field, e.rank) }
            i = (i &+ 1) & mask
        }
    }

    private func lookupLong(_ p: UnsafePointer<UInt8>, _ n: Int) -> (field: Field, rank: UInt8)? {
        if longKeys.isEmpty { return nil }
        let s = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        return longKeys[s].map { ($0, 0) }
    }
}

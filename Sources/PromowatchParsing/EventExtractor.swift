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
    /// The current line without its colour codes (`Bytes.stripEscapes`), when it had any.
    private let plain: UnsafeMutablePointer<UInt8>
    private let plainCapacity: Int
    /// The decoded line of a log shipper's record (`shippedLine`), made when first needed.
    private var shipped: UnsafeMutablePointer<UInt8>?
    private var used = 0
    private var base: UnsafePointer<UInt8> = UnsafePointer(bitPattern: 1)!
    /// Whether the current line's payload was scanned: its fields (and `base`) belong to it. A
    /// line whose kinds come from phrases alone (a timeout in plain text) has no fields; reading
    /// them read the previous line's table against a stale base (found by the fuzzer once a
    /// timeout's account name was asked for).
    private var scanned = false

    public struct Limits: Sendable {
        public var coupons = 200_000, providers = 64, sources = 4096
        public init() {}
    }

    /// Set by `extract` for a promotion: a hash of its trace id (0 = none), and whether it is a
    /// Kratos request line (`operation=/.../ApplyPromotion`) rather than an explicit event line.
    /// The caller keeps one attempt from counting twice (contract §3, the trace-id rule).
    public private(set) var traceHash: UInt64 = 0
    /// Trusted event times: from `earliestTime` to `maxFutureSkew` past arrival (ns).
    public var earliestTime: Int64 = 946_684_800 * 1_000_000_000
    public var maxFutureSkew: Int64 = 86_400 * 1_000_000_000
    /// Events with a payload or framing time that was unreadable or outside that range.
    public private(set) var untrustedTimestamps = 0
    /// Events whose source (`pod/<pod>/<container>`) did not fit the source table: attributed to
    /// no source (`cron` keeps one checkpoint for all of them).
    public private(set) var untrackedSourceEvents = 0
    public private(set) var promotionFromRequestLine = false
    /// Coupon, user and ip aliases as they are looked for inside a request line's `args`.
    private let argAliases: [(Field, [UInt8])]
    /// Identities read from `args` for the current event (when the line has no such key).
    private var argUser: (UnsafePointer<UInt8>, Int)?
    /// The payload of the line being extracted (valid until the next line).
    private var line: (UnsafePointer<UInt8>, Int)?
    private var argIP: (UnsafePointer<UInt8>, Int)?

    /// `sharing`: intern into another extractor's tables (a batch read again in time slices keeps
    /// the symbols its first reading gave; `Analyzer.init(options:sharingTablesOf:)`).
    public init(
        keys: KeyTable = KeyTable(), limits: Limits = Limits(), maxRecordLength: Int = 1 << 20,
        sharing other: EventExtractor? = nil
    ) {
        argAliases = [Field.coupon, .user, .ip].flatMap { f in keys.spellings(for: f).map { (f, Array($0.utf8)) } }
        scanner = PayloadScanner(keys: keys)
        coupons = other?.coupons ?? SymbolTable(maxEntries: limits.coupons, maxBytes: limits.coupons * 32)
        providers = other?.providers ?? SymbolTable(maxEntries: limits.providers, maxBytes: 4096)
        sources = other?.sources ?? SymbolTable(maxEntries: limits.sources, maxBytes: limits.sources * 128)
        scratchCapacity = maxRecordLength * 2 + 64
        scratch = .allocate(capacity: scratchCapacity)
        plainCapacity = maxRecordLength + 64
        plain = .allocate(capacity: plainCapacity)
    }

    deinit {
        scratch.deallocate()
        plain.deallocate()
        shipped?.deallocate()
    }

    /// The event in `frame`. `phrases` are the phrase hits already known for the line
    /// (`LineMarker`). `arrival` is used when the line
    /// carries no timestamp at all. An event with empty `kinds` is a skipped line.
    public func extract(_ frame: Frame, phrases: Phrases, arrival: Int64) -> Event {
        var frame = frame
        var ev = Event()
        line = (frame.payload, frame.length)
        traceHash = 0
        promotionFromRequestLine = false
        argUser = nil
        argIP = nil
        if phrases.contains(.timeout) { ev.kinds.insert(.timeout) }
        if phrases.contains(.dbSaturation) { ev.kinds.insert(.dbSaturation) }
        scanned = frame.length > 0 && scanner.scan(frame.payload, frame.length)
        if scanned, let (inner, trial) = shippedLine(&frame) {
            // a log shipper's record: the line the service wrote is the payload
            scanned = scanner.scan(inner.0, inner.1)
            if trial && !scanner.namesEvent {
                // a message that only looked like a line: the record is read as it is
                scanned = scanner.scan(frame.payload, frame.length)
            } else {
                (frame.payload, frame.length) = inner
                line = inner
            }
        }
        // colour codes hide a console logger's keys and message (a JSON encoder escapes them, and a
        // line whose keys name its event reads as it is): looked for only when nothing named it
        if !scanner.namesEvent && frame.length <= plainCapacity
            && Bytes.find(0x1B, frame.payload, from: 0, end: frame.length) != nil
        {
            frame.length = Bytes.stripEscapes(frame.payload, frame.length, into: plain)
            frame.payload = UnsafePointer(plain)
            line = (frame.payload, frame.length)
            scanned = frame.length > 0 && scanner.scan(frame.payload, frame.length)
        }
        if scanned {
            base = frame.payload
            used = 0
            classify(&ev)
        }
        if ev.kinds.isEmpty { return ev }
        // only events need their time and source; a time outside the trusted range is absent
        let latest = arrival > Int64.max - maxFutureSkew ? Int64.max : arrival + maxFutureSkew
        var untrusted = false
        ev.time = 0
        // a local time names no zone: the framing's time (the node's clock) says which instant it
        // was; without one it is read as UTC, a container's default zone
        var localTime: Int64 = 0
        if let (p, n) = scanner.parsed ? value(.ts) : nil {
            if let (t, zoned) = ByteNumbers.parseEventTime(p, n), t >= earliestTime && t <= latest {
                if zoned { ev.time = t } else { localTime = t }
            } else {
                untrusted = true
            }
        } else if let t = EventExtractor.goLogTime(frame.payload, frame.length), t >= earliestTime && t <= latest {
            localTime = t
        } else if let t = EventExtractor.klogTime(
            frame.payload, frame.length, near: frame.time != 0 ? frame.time : arrival),
            t >= earliestTime && t <= latest
        {
            localTime = t
        }
        if ev.time == 0 {
            let ft = frame.time
            if ft != 0 && ft >= earliestTime && ft <= latest {
                ev.time = ft
            } else if localTime != 0 {
                ev.time = localTime
            } else {
                if frame.hasTime { untrusted = true }
                ev.time = arrival
                ev.undated = true
            }
        }
        if untrusted { untrustedTimestamps += 1 }
        if let s = frame.source, frame.sourceLength > 0 {
            ev.source = sources.intern(s, frame.sourceLength)
            if ev.source < 0 { untrackedSourceEvents += 1 }
        }
        return ev
    }

    /// The line a log shipper's record holds (a JSON object just scanned), decoded, or nil: the
    /// top-level `log` of Fluent Bit and Fluentd (beside `kubernetes`, `stream`, `time`, `date`)
    /// or `textPayload` of Cloud Logging when no key names the event, or a message that is itself
    /// a whole line (Filebeat's and Vector's `message`: a JSON line, or a level word and pairs),
    /// `trial`: kept only if it names an event itself. When the framing gave no time, the record's
    /// own (`time`, `@timestamp`, `timestamp`) becomes the frame's, so a line without one keeps
    /// its time.
    private func shippedLine(_ frame: inout Frame) -> (line: (UnsafePointer<UInt8>, Int), trial: Bool)? {
        let p = frame.payload
        guard p[0] == UInt8(ascii: "{") else { return nil }
        var s = scanner[.line]
        if scanner.namesEvent {
            // the message is the whole line only when it reads as one (it names an event itself)
            s = scanner[.name]
            guard s.rank < 16, s.type == .escaped || s.type == .plain, s.length > 4 else { return nil }
            let m = Int(s.start)
            let e = m + Int(s.length)
            if p[m] == UInt8(ascii: "{") {
                guard s.type == .escaped else { return nil }
            } else {
                // Filebeat's and Vector's `message`: `INFO ts=... msg=payment failed provider=stripe`
                guard let l = PayloadScanner.levelEnd(p, e, from: m), l < e, p[l] == 0x20 else { return nil }
            }
        } else {
            guard s.rank < 16, s.type == .plain || s.type == .escaped, s.length > 0 else { return nil }
        }
        if !frame.hasTime, case let t = scanner[.ts], t.type == .plain || t.type == .bare,
            let (nanos, zoned) = ByteNumbers.parseEventTime(p + Int(t.start), Int(t.length)), zoned, nanos != 0
        {
            frame.parsedTime = nanos
        }
        var q = p + Int(s.start)
        var n = Int(s.length)
        if s.type == .escaped {
            if shipped == nil { shipped = .allocate(capacity: plainCapacity) }
            guard let out = shipped, n <= plainCapacity else { return nil }
            n = unescapeString(q, n, into: out)
            q = UnsafePointer(out)
        }
        while n > 0 && (q[n - 1] == 0x0A || q[n - 1] == 0x0D) { n -= 1 }
        return n > 0 ? ((q, n), scanner.namesEvent) : nil
    }

    /// The time Go's `log` package writes before the message with `LstdFlags` (`2026/11/20 08:15:01`;
    /// `.123456` with `Lmicroseconds`), at the start of the payload or after one prefix word
    /// (`log.New(w, "[checkout] ", log.LstdFlags)`): a local time without a zone. Services that
    /// hand go-kratos' std logger a `log.New(w, "", log.LstdFlags|log.Llongfile)` write it before
    /// `INFO msg=...` and often no `ts` at all; unread, an archived day of them was dated by the
    /// moment it was read.
    static func goLogTime(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        guard n >= 19, let s = PayloadScanner.goLogTimeStart(p, n, from: 0),
            let e = PayloadScanner.goLogTimeEnd(p, n, from: s)
        else { return nil }
        return ByteNumbers.parseRFC3339(p + s, e - s, local: true)?.nanos
    }

    /// The time of klog's header (`I1120 08:15:01.123456 ...`): month, day and time of day, no year
    /// and no zone. The year is the one that puts it nearest before `near` (the framing's time, else
    /// the arrival): a day's archive read in January keeps December's year.
    static func klogTime(_ p: UnsafePointer<UInt8>, _ n: Int, near: Int64) -> Int64? {
        var s = 0
        while s < n && s < 64 && Bytes.isSpace(p[s]) { s += 1 }
        guard PayloadScanner.klogHeaderEnd(p, n, from: s) != nil else { return nil }
        let year = EventTime.civilFromDays(Int(near / 86_400_000_000_000)).year
        var text = Array("0000-00-00 00:00:00.000000".utf8)
        for y in [year, year - 1] {
            guard y >= 1000 && y <= 9999 else { return nil }
            var v = y
            for k in (0..<4).reversed() {
                text[k] = UInt8(0x30 + v % 10)
                v /= 10
            }
            for (to, from) in [(5, 1), (6, 2), (8, 3), (9, 4)] { text[to] = p[s + from] }
            for k in 0..<15 { text[11 + k] = p[s + 6 + k] }
            guard
                let t = text.withUnsafeBufferPointer({
                    ByteNumbers.parseRFC3339($0.baseAddress!, $0.count, local: true)
                })
            else { return nil }
            if t.nanos <= near + 86_400_000_000_000 { return t.nanos }
        }
        return nil
    }

    /// The event name: `msg`, `message`, `event`, then `operation`, then `op` (and configured
    /// aliases after them). Empty and null values are absent, so the zap adapter's `"msg":""`
    /// leaves the name to `operation`.
    @inline(__always)
    func name() -> (UnsafePointer<UInt8>, Int)? {
        if scanner[.name].rank < 3, let v = value(.name) { return v }
        return value(.operation) ?? value(.name)
    }

    /// A go-kratos logging-middleware line: `operation` with the middleware's `code`, `args` or
    /// `component`/`kind` beside it (an explicit event named by `operation` has none of them).
    @inline(__always)
    private var isRequestLine: Bool {
        present(.operation) && (present(.code) || present(.args) || present(.component))
    }

    private func classify(_ ev: inout Event) {
        if isRequestLine {
            if let (p, n) = value(.operation), Bytes.hasSuffix(p, n, "/ApplyPromotion") { requestPromotion(&ev) }
        } else if let (p, n) = name() {
            if Bytes.contains(p, n, "ApplyPromotion") {
                promotion(&ev)
            } else if let success = EventExtractor.paymentOutcome(p, n) {
                payment(&ev, success: success)
            }
            if Bytes.containsLower(p, n, "compensation failed") { ev.kinds.insert(.compensationFailure) }
        }
        if scanner.sawFailedCompensation { ev.kinds.insert(.compensationFailure) }
        if let (p, n) = value(.latencyMs), let v = ByteNumbers.parseDouble(p, n) {
            ev.latencyMs = v
            ev.kinds.insert(.request)
        } else if let (p, n) = value(.latency), let v = ByteNumbers.parseDurationMs(p, n) {
            ev.latencyMs = v
            ev.kinds.insert(.request)
        }
    }

    // MARK: field access

    /// The decoded bytes of a scalar field, or nil when absent, null, compound or empty.
    @inline(__always)
    func value(_ f: Field) -> (UnsafePointer<UInt8>, Int)? {
        guard scanned else { return nil }
        let s = scanner[f]
        switch s.type {
        case .plain, .bare:
            return s.length > 0 ? (base + Int(s.start), Int(s.length)) : nil
        case .escaped:
            return decoded(base + Int(s.start), Int(s.length))
        case .absent, .compound, .null:
            return nil
        }
    }

    /// Whether the key is present with a meaningful value (not null, not an empty string).
    func present(_ f: Field) -> Bool {
        guard scanned else { return false }
        let s = scanner[f]
        switch s.type {
        case .absent, .null: return false
        case .compound: return true
        default: return s.length > 0
        }
    }

    /// A money amount (discount, subtotal, payment amount): absent unless it is a plausible one,
    /// zero to a trillion. `1e306` or a negative discount from a hostile line would otherwise
    /// make sums infinite or cancel real discounts out.
    private func number(_ f: Field) -> Double {
        guard let (p, n) = value(f), let v = ByteNumbers.parseDouble(p, n), v >= 0, v <= 1e12 else { return .nan }
        return v
    }

    enum Case { case asIs, upper, lower }

    /// A value trimmed of surrounding spaces, cut at `cut` (the first address of a
    /// forwarded-for list), case-folded as asked (into scratch when folding).
    private func normalized(_ f: Field, cut: UInt8? = nil, _ fold: Case = .asIs) -> (UnsafePointer<UInt8>, Int)? {
        if let v = value(f) { return normalize(v, cut: cut, fold) }
        if f == .user, let v = argUser { return normalize(v, cut: cut, fold) }
        if f == .ip, let v = argIP { return normalize(v, cut: cut, fold) }
        return nil
    }

    @inline(__always)
    private func normalize(_ v: (UnsafePointer<UInt8>, Int), cut: UInt8? = nil, _ fold: Case = .asIs) -> (
        UnsafePointer<UInt8>, Int
    )? {
        let (p, n0) = v
        var s = 0
        var n = n0
        if let c = cut, let k = Bytes.find(c, p, from: 0, end: n) { n = k }
        while s < n && Bytes.isSpace(p[s]) { s += 1 }
        while n > s && Bytes.isSpace(p[n - 1]) { n -= 1 }
        guard n > s else { return nil }
        if fold == .asIs { return (p + s, n - s) }
        guard used + (n - s) <= scratchCapacity else { return nil }
        let out = scratch + used
        var any: UInt8 = 0
        if fold == .upper {
            for i in s..<n {
                out[i - s] = Bytes.upper(p[i])
                any |= p[i]
            }
        } else {
            for i in s..<n {
                out[i - s] = Bytes.lower(p[i])
                any |= p[i]
            }
        }
        var length = n - s
        if any >= 0x80 { length = unicodeFold(out, length, upper: fold == .upper) }
        used += length
        return (UnsafePointer(out), length)
    }

    /// Non-ASCII text is folded by Unicode's case mapping (`café10` and `CAFÉ10` are one code);
    /// invalid UTF-8 keeps its bytes, so distinct byte strings stay distinct codes.
    @inline(never)
    private func unicodeFold(_ out: UnsafeMutablePointer<UInt8>, _ n: Int, upper: Bool) -> Int {
        guard let text = String(validating: UnsafeBufferPointer(start: out, count: n), as: UTF8.self) else { return n }
        let folded = Array((upper ? text.uppercased() : text.lowercased()).utf8)
        guard used + folded.count <= scratchCapacity else { return n }
        out.update(from: folded, count: folded.count)
        return folded.count
    }

    private func intern(_ f: Field, into table: SymbolTable, _ fold: Case, limit: Int? = nil) -> (Symbol, UInt64) {
        intern(normalized(f, fold), into: table, limit: limit)
    }

    private func intern(_ v: (UnsafePointer<UInt8>, Int)?, into table: SymbolTable, limit: Int? = nil) -> (
        Symbol, UInt64
    ) {
        guard let (p, n) = v else { return (.none, 0) }
        let h = ByteHash.hash(p, n)
        return (table.intern(p, n, hash: h, limit: limit), h)
    }

    private func hash(_ f: Field, cut: UInt8? = nil) -> UInt64 {
        guard let (p, n) = normalized(f, cut: cut) else { return 0 }
        return ByteHash.hash(p, n)
    }

    /// The text of a field of the event just extracted (valid until the next `extract`, which is
    /// when the detector asks through `EventTextSource`): users, ips and cards are only hashed,
    /// this gives their text when a finding needs it.
    public func text(_ f: Field) -> String? {
        let cut: UInt8? = f == .ip ? UInt8(ascii: ",") : nil
        guard let (p, n) = normalized(f, cut: cut, f == .coupon ? .upper : (f == .provider ? .lower : .asIs)) else {
            return nil
        }
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    // MARK: promotion

    private func promotion(_ ev: inout Event) {
        // a message with the pairs written into it (`"msg":"ApplyPromotion coupon=SAVE10"`): its
        // code, account and outcome, where the line has no keys of its own for them
        if !present(.coupon) { scanner.scanMessagePairs(base) }
        // the request formatted into the message (`log.Infof("ApplyPromotion: %v", req)`: its
        // protobuf text, `promotion_code:"SAVE10" user_id:"u-1"`, or `%+v` of a struct), or logged
        // as a value of a key promowatch does not read (`Infow("msg", "ApplyPromotion", "req",
        // req)`: `req=promotion_code:"SAVE10"`, `req=&{PromotionCode:SAVE10}`)
        var messageCoupon: (UnsafePointer<UInt8>, Int)?
        if !present(.coupon) {
            // a request's text is short: the first 4 KB bound the work a hostile line can ask for
            if let (p, n) = name() { messageCoupon = readArgs(p, min(n, 4096)) }
            if messageCoupon == nil, let (p, n) = line, n > 0, p[0] != UInt8(ascii: "{") {
                messageCoupon = readArgs(p, min(n, 4096))  // not JSON: its strings' quotes are escaped
            }
        }
        var applied = true
        if let (p, n) = value(.outcome), let o = EventExtractor.outcome(p, n) {
            applied = o
        } else {
            applied = !present(.errorText)
        }
        ev.kinds.insert(applied ? .promotionApplied : .promotionRejected)
        traceHash = hash(.traceId)
        // Rejected attempts may fill only half the coupon table: an enumeration attack sending
        // millions of invented codes must not leave no room for real codes redeemed later.
        let limit = applied ? nil : coupons.maxEntries / 2
        if let c = messageCoupon {
            (ev.coupon, ev.couponHash) = intern(c, into: coupons, limit: limit)
        } else {
            (ev.coupon, ev.couponHash) = intern(.coupon, into: coupons, .upper, limit: limit)
        }
        ev.userHash = hash(.user)
        ev.ipHash = hash(.ip, cut: UInt8(ascii: ","))
        ev.discount = number(.discount)
        ev.subtotal = number(.subtotal)
    }

    /// A Kratos request line for `/ApplyPromotion`: applied when `code` is 0 (or 2xx), rejected otherwise;
    /// the coupon (and, when the line has none, the user and ip) read from `args`.
    private func requestPromotion(_ ev: inout Event) {
        var applied: Bool
        if let (p, n) = value(.code) {
            // 0 when the handler returned no error; 2xx is success too (an HTTP-component line
            // with `code=200 reason=` is in go-kratos/kratos#3758)
            if let v = ByteNumbers.parseDouble(p, n) {
                applied = v == 0 || (v >= 200 && v < 300)
            } else {
                applied = EventExtractor.outcome(p, n) ?? false
            }
        } else {
            applied = !present(.errorCode)  // no code: a `reason` says it failed
        }
        ev.kinds.insert(applied ? .promotionApplied : .promotionRejected)
        promotionFromRequestLine = true
        traceHash = hash(.traceId)
        // decoded args live in scratch; the values found point into them
        var coupon = value(.args).flatMap { readArgs($0.0, $0.1) }
        // `args` logged as a JSON object (`"args":{"promotion_code":"X"}`: its keys are the line's,
        // one level down), or a coupon key beside it
        if coupon == nil { coupon = normalized(.coupon, .upper) }
        (ev.coupon, ev.couponHash) = intern(coupon, into: coupons, limit: applied ? nil : coupons.maxEntries / 2)
        ev.userHash = hash(.user)
        ev.ipHash = hash(.ip, cut: UInt8(ascii: ","))
        ev.discount = number(.discount)
        ev.subtotal = number(.subtotal)
    }

    /// The coupon named inside a request's text (`args`, or a message the request was formatted
    /// into), upper-cased; the account and ip found there too are kept for `hash` and `text`.
    private func readArgs(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UnsafePointer<UInt8>, Int)? {
        var coupon: (UnsafePointer<UInt8>, Int)?
        for (f, alias) in argAliases {
            switch f {
            case .coupon: if coupon == nil { coupon = EventExtractor.argValue(p, n, alias) }
            case .user: if argUser == nil { argUser = EventExtractor.argValue(p, n, alias) }
            default: if argIP == nil { argIP = EventExtractor.argValue(p, n, alias) }
            }
        }
        if let u = argUser { argUser = unescaped(u) }
        if let i = argIP { argIP = unescaped(i) }
        guard let c = coupon, let v = unescaped(c) else { return nil }
        return normalize(v, .upper)
    }

    /// A quoted value's body decoded into scratch when it holds escapes.
    private func unescaped(_ v: (UnsafePointer<UInt8>, Int)) -> (UnsafePointer<UInt8>, Int)? {
        let (p, n) = v
        guard n > 0 else { return nil }
        guard Bytes.find(0x5C, p, from: 0, end: n) != nil else { return v }
        return decoded(p, n)
    }

    /// `p[0..<n]` with its escapes decoded into the per-line scratch; nil when empty or out of room.
    @inline(__always)
    private func decoded(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UnsafePointer<UInt8>, Int)? {
        guard used + n <= scratchCapacity else { return nil }
        let out = scratch + used
        let m = unescapeString(p, n, into: out)
        used += m
        return m > 0 ? (UnsafePointer(out), m) : nil
    }

    /// The body of `alias:"X"`, `alias: "X"` or `"alias":"X"` inside `args` (protobuf text or
    /// JSON), still escaped, or the bare `X` of `alias:X` (a JSON number, or a Go struct as the
    /// middleware prints a request without `String()`: `&{PromotionCode:SAVE10 UserID:u-1}`). The
    /// alias must stand as a whole key: `coupon` is not found in `coupon_code:"X"` nor in
    /// `xcoupon:"X"`.
    static func argValue(_ p: UnsafePointer<UInt8>, _ n: Int, _ alias: [UInt8]) -> (UnsafePointer<UInt8>, Int)? {
        let a = alias.count
        guard a > 0, n > a + 2 else { return nil }
        var from = 0
        while from + a < n {
            guard let k = alias.withUnsafeBufferPointer({ Bytes.firstIndex(p + from, n - from, $0.baseAddress!, a) })
            else { return nil }
            let at = from + k
            from = at + 1
            if at > 0 && PayloadScanner.isKeyByte(p[at - 1]) { continue }
            var i = at + a
            if i < n && p[i] == 0x22 {
                guard at > 0 && p[at - 1] == 0x22 else { continue }  // "alias":
                i += 1
            }
            guard i < n, p[i] == UInt8(ascii: ":") else { continue }
            i += 1
            while i < n && (p[i] == 0x20 || p[i] == 0x09) { i += 1 }
            guard i < n else { continue }
            if p[i] == 0x22 {
                guard let e = PayloadScanner.stringEnd(p, from: i + 1, end: n) else { continue }
                return (p + i + 1, e - i - 1)
            }
            // bare: up to a space, `,`, `}` or `]`; a nested value (`{`, `[`, `&{`) or Go's
            // `<nil>` is no code
            let c = p[i]
            if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") || c == UInt8(ascii: "&") || c == UInt8(ascii: "<")
                || c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == UInt8(ascii: "]")
            {
                continue
            }
            var e = i
            while e < n && p[e] != 0x20 && p[e] != 0x09 && p[e] != UInt8(ascii: ",") && p[e] != UInt8(ascii: "}")
                && p[e] != UInt8(ascii: "]")
            {
                e += 1
            }
            return (p + i, e - i)
        }
        return nil
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
            || Bytes.equalsLower(p, n, "payment captured")
        {
            return true
        }
        if Bytes.equalsLower(p, n, "payment authorization failed") || Bytes.equalsLower(p, n, "payment failed")
            || Bytes.equalsLower(p, n, "payment declined")
        {
            return false
        }
        return nil
    }

    static let declineCodes: [StaticString] = [
        "card_declined", "insufficient_funds", "do_not_honor", "incorrect_cvc", "incorrect_number",
        "expired_card", "lost_card", "stolen_card", "fraudulent", "generic_decline",
        "invalid_account", "card_not_supported", "pickup_card",
        // PayPal's Orders API, the buyer's side by its documentation ("prompt the buyer to select
        // a different payment method"): the runbook's second provider declines with these
        "instrument_declined", "card_expired", "payer_cannot_pay", "transaction_refused",
        "redirect_payer_for_alternate_funding", "max_number_of_payment_attempts_exceeded",
    ]

    static func isDeclineCode(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        for c in declineCodes where Bytes.equalsLower(p, n, c) { return true }
        return false
    }

    /// Whether a text is or holds a decline code as a whole word (any case; `_` and letters and
    /// digits around it make another word): `card_declined`, `stripe: card_declined: Your card was
    /// declined.`, Stripe's error as JSON. A card decline surge read as a provider outage would switch providers.
    private func namesDeclineCode(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard n >= 9, used + n <= scratchCapacity else { return false }
        let low = scratch + used
        for i in 0..<n { low[i] = Bytes.lower(p[i]) }
        func wordByte(_ b: UInt8) -> Bool { (b &- 0x61) < 26 || (b &- 0x30) < 10 || b == UInt8(ascii: "_") }
        for c in EventExtractor.declineCodes {
            var from = 0
            while from < n,
                let k = c.withUTF8Buffer({
                    Bytes.firstIndex(UnsafePointer(low + from), n - from, $0.baseAddress!, $0.count)
                })
            {
                let s = from + k
                let e = s + c.utf8CodeUnitCount
                if (s == 0 || !wordByte(low[s - 1])) && (e == n || !wordByte(low[e])) { return true }
                from = s + 1
            }
        }
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
                // no code key: an error text that names a decline code is one (the text of a
                // payment SDK's error: `{"code":"card_declined","type":"card_error",...}`)
                decline = namesDeclineCode(p, min(n, 4096))
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
    public func lineText() -> String? { line.map { ExampleText.sanitized($0.0, $0.1) } }

    /// The bytes `userText`, `ipText` and `lineText` are made of, valid until the next line (or
    /// the next call): a pipeline copies them and builds the strings on another thread, only for
    /// the few events whose text is asked for.
    public func userBytes() -> (UnsafePointer<UInt8>, Int)? { normalized(.user) }
    public func ipBytes() -> (UnsafePointer<UInt8>, Int)? { normalized(.ip, cut: UInt8(ascii: ",")) }
    public func lineBytes() -> (UnsafePointer<UInt8>, Int)? { line }
}

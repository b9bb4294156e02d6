/// What kind of bytes a field slot points at.
public enum ValueType: UInt8, Sendable {
    case absent = 0
    /// A string with no escapes: the bytes are the value.
    case plain
    /// A JSON or Go-quoted string containing backslash escapes: decode before use.
    case escaped
    /// A JSON number/true/false or an unquoted logfmt value.
    case bare
    /// A nested object or array: the key is present, the value is not a scalar.
    case compound
    case null
}

public struct Slot: Sendable {
    public var start: Int32 = 0
    public var length: Int32 = 0
    public var rank: UInt8 = .max
    public var type: ValueType = .absent
}

/// Scans one payload (JSON object or logfmt) and records, for each logical field, where its
/// value is. No allocation per line; nothing is decoded until a field is actually read.
///
/// Keys of nested JSON objects are read too, ranked below every top-level key.
public final class PayloadScanner {
    public let keys: KeyTable
    /// One slot per `Field`, in one flat allocation reused for every line.
    private let slots: UnsafeMutablePointer<Slot>
    /// Some value (at any depth) is exactly `failed_compensation`.
    public private(set) var sawFailedCompensation = false
    /// The last `scan` found a JSON object or logfmt pairs.
    public private(set) var parsed = false

    /// 1 for the bytes a logfmt key may hold (`isKeyByte`): one load per byte on the hot path.
    private let keyBytes: UnsafeMutablePointer<UInt8>

    /// Whether `p[s..<e]` is a key the std logger's values stop at.
    @inline(__always)
    func isKey(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        var ok: UInt8 = 1
        var k = s
        while k < e {
            ok &= keyBytes[Int(p[k])]
            k &+= 1
        }
        return ok != 0
    }

    public init(keys: KeyTable = KeyTable()) {
        self.keys = keys
        keyBytes = .allocate(capacity: 256)
        for b in 0..<256 { keyBytes[b] = PayloadScanner.isKeyByte(UInt8(b)) ? 1 : 0 }
        slots = .allocate(capacity: Field.count)
        slots.initialize(repeating: Slot(), count: Field.count)
    }

    deinit {
        slots.deallocate()
        keyBytes.deallocate()
    }

    @inline(__always) public subscript(f: Field) -> Slot { slots[Int(f.rawValue)] }

    /// The last line has a key (or a console message) that can name an event.
    @inline(__always) public var namesEvent: Bool {
        slots[Int(Field.name.rawValue)].type != .absent || slots[Int(Field.operation.rawValue)].type != .absent
    }

    @inline(__always)
    func reset() {
        slots.update(repeating: Slot(), count: Field.count)
        sawFailedCompensation = false
    }

    /// Keeps the value when it outranks the field's current one. An empty string and `null` are
    /// absent (contract §2): they never hide a later alias (`"msg":""` beside `operation`).
    @inline(__always)
    func record(_ field: Field, rank: UInt8, start: Int, length: Int, type: ValueType) {
        if type == .null || (length == 0 && type != .compound) { return }
        let i = Int(field.rawValue)
        if rank <= slots[i].rank {
            slots[i] = Slot(start: Int32(start), length: Int32(length), rank: rank, type: type)
        }
    }

    @inline(__always)
    func noteValue(_ p: UnsafePointer<UInt8>, _ s: Int, _ len: Int) {
        if len == 19 && Bytes.equals(p + s, len, "failed_compensation") { sawFailedCompensation = true }
    }

    /// Scans `p[0..<n]`. Returns false when the payload is neither a JSON object nor logfmt.
    public func scan(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        reset()
        return scanPayload(p, n)
    }

    /// `scan` of the payload after a prefix of `offset` bytes that `p` starts past: the values'
    /// offsets are moved back to the whole payload's.
    private func scan(_ p: UnsafePointer<UInt8>, _ n: Int, offset: Int) -> Bool {
        let ok = scanPayload(p, n, outermost: false)
        for k in 0..<Field.count where slots[k].type != .absent {
            slots[k].start &+= Int32(offset)
        }
        return ok
    }

    /// Where the line starts after a Loki label set (`{app="checkout", pod="checkout-1"} `, as
    /// `logcli query` prints it between the time and the line): names of letters, digits and `_`,
    /// quoted values, at most 4 KB. Nil for any other shape, JSON included.
    static func labelSetEnd(_ p: UnsafePointer<UInt8>, _ n: Int, from s: Int) -> Int? {
        let limit = min(n, s + 4096)
        var i = s + 1
        while true {
            while i < limit && p[i] == 0x20 { i += 1 }
            guard i < limit else { return nil }
            if p[i] == UInt8(ascii: "}") { break }
            let k = i
            while i < limit && (Bytes.isDigit(p[i]) || (p[i] | 0x20) &- 0x61 < 26 || p[i] == UInt8(ascii: "_")) {
                i += 1
            }
            guard i > k, i + 1 < limit, p[i] == UInt8(ascii: "="), p[i + 1] == 0x22,
                let e = PayloadScanner.stringEnd(p, from: i + 2, end: limit)
            else { return nil }
            i = e + 1
            while i < limit && p[i] == 0x20 { i += 1 }
            guard i < limit else { return nil }
            if p[i] == UInt8(ascii: ",") { i += 1 } else if p[i] != UInt8(ascii: "}") { return nil }
        }
        guard i > s + 1, i + 1 < n, p[i + 1] == 0x20 else { return nil }
        i += 1
        while i < n && p[i] == 0x20 { i += 1 }
        return i
    }

    /// `outermost`: the line itself, not what follows a prefix already taken off (one prefix only:
    /// a hostile line of label sets must not recurse once per set).
    private func scanPayload(_ p: UnsafePointer<UInt8>, _ n: Int, outermost: Bool = true) -> Bool {
        var i = 0
        while i < n && Bytes.isSpace(p[i]) { i += 1 }
        guard i < n else {
            parsed = false
            return false
        }
        if p[i] == UInt8(ascii: "{") {
            parsed = scanJSON(p, n, from: i)
            if !parsed, outermost, let r = PayloadScanner.labelSetEnd(p, n, from: i), r < n {
                // Loki's label set before the line (`logcli query`): the line is the payload
                reset()
                return scan(p + r, n - r, offset: r)
            }
        } else if let h = PayloadScanner.klogHeaderEnd(p, n, from: i) {
            parsed = scanKlogMessage(p, n, from: h)
        } else if Bytes.isDigit(p[i]), let c = PayloadScanner.consoleLine(p, n, from: i) {
            record(.ts, rank: 0, start: c.time.lowerBound, length: c.time.count, type: .plain)
            record(.name, rank: 0, start: c.message.lowerBound, length: c.message.count, type: .plain)
            noteValue(p, c.message.lowerBound, c.message.count)
            parsed = c.fields.map { scanJSON(p, n, from: $0) } ?? true
        } else if let j = PayloadScanner.jsonAfterWords(p, n, from: i) {
            parsed = scanJSON(p, n, from: j)
        } else {
            parsed = scanLogfmt(p, n, from: i)
            // words before the pairs are a console logger's message only when no key names the event
            if !namesEvent, let c = consoleHeader(p, n, from: i) {
                if let t = c.time { record(.ts, rank: 0, start: t.lowerBound, length: t.count, type: .plain) }
                record(.name, rank: 0, start: c.message.lowerBound, length: c.message.count, type: .plain)
                noteValue(p, c.message.lowerBound, c.message.count)
                parsed = true
            }
        }
        return parsed
    }

    /// The end of the time Go's `log` package writes before a message (`LstdFlags`:
    /// `2026/11/20 08:15:01`, `.123456` with `Lmicroseconds`) starting at `s`, followed by a space
    /// or the end; nil for any other shape.
    static func goLogTimeEnd(_ p: UnsafePointer<UInt8>, _ n: Int, from s: Int) -> Int? {
        guard n - s >= 19, Bytes.isDigit(p[s]), p[s + 4] == UInt8(ascii: "/"), p[s + 7] == UInt8(ascii: "/"),
            p[s + 10] == 0x20, p[s + 13] == UInt8(ascii: ":"), p[s + 16] == UInt8(ascii: ":")
        else { return nil }
        var e = s + 19
        if e < n && p[e] == UInt8(ascii: ".") {
            e += 1
            while e < n && Bytes.isDigit(p[e]) { e += 1 }
        }
        return e == n || p[e] == 0x20 ? e : nil
    }

    /// The end of the header Go's `log` package writes before a message, up to the next word: an
    /// optional prefix word (`log.New(w, "[checkout] ", ...)`), the `LstdFlags` time, and the
    /// caller with `Lshortfile` or `Llongfile` (`promo.go:31:`). slog's default handler writes
    /// through it (`2026/11/20 08:15:01 INFO ApplyPromotion coupon=X`) until a service installs a
    /// handler of its own. Nil for any other shape.
    static func goLogHeaderEnd(_ p: UnsafePointer<UInt8>, _ n: Int, from s: Int) -> Int? {
        guard let t = PayloadScanner.goLogTimeStart(p, n, from: s),
            let e = PayloadScanner.goLogTimeEnd(p, n, from: t)
        else { return nil }
        var i = e
        while i < n && p[i] == 0x20 { i += 1 }
        var w = i
        while w < n && w - i < 512 && p[w] != 0x20 { w += 1 }
        if w - i > 5, p[w - 1] == UInt8(ascii: ":"), Bytes.find(UInt8(ascii: "="), p, from: i, end: w) == nil,
            PayloadScanner.hasGoFileSuffix(p, i, w - 1)
        {
            i = w
            while i < n && p[i] == 0x20 { i += 1 }
        }
        return i
    }

    /// Where the time Go's `log` package writes may start: at `s`, or after one prefix word
    /// (`log.New(w, "[checkout] ", log.LstdFlags)`) of at most 40 bytes without `=`, `{` or `"`.
    static func goLogTimeStart(_ p: UnsafePointer<UInt8>, _ n: Int, from s: Int) -> Int? {
        if Bytes.isDigit(p[s]) { return s }
        var i = s
        while i < n && i - s < 40 && p[i] != 0x20 {
            if p[i] == UInt8(ascii: "=") || p[i] == UInt8(ascii: "{") || p[i] == 0x22 { return nil }
            i += 1
        }
        guard i < n, p[i] == 0x20 else { return nil }
        return i + 1
    }

    /// Whether `p[s..<e]` ends in `.go:<line>`.
    static func hasGoFileSuffix(_ p: UnsafePointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        var d = e
        while d > s && Bytes.isDigit(p[d - 1]) { d -= 1 }
        guard d < e, d - s >= 4 else { return false }
        return p[d - 1] == UInt8(ascii: ":") && p[d - 2] == UInt8(ascii: "o") && p[d - 3] == UInt8(ascii: "g")
            && p[d - 4] == UInt8(ascii: ".")
    }

    /// Where a JSON object that ends the line starts after a few words of someone else's prefix:
    /// the pod and container `stern` prints (`checkout-7d9f8c6b5-x2kqp checkout {...}`), a compose
    /// service (`checkout-1  | {...}`), syslog (`Nov 20 08:15:01 node1 checkout[7]: {...}`), Go's
    /// `log` time and file before a JSON line handed to `log.Printf` (`2026/11/20 08:15:01
    /// promo.go:31: {...}`; that time is read by `EventExtractor.goLogTime`). The words hold no `=` and no `"` (a logfmt line is not one) and take at most 256 bytes. Nil for
    /// any other shape.
    static func jsonAfterWords(_ p: UnsafePointer<UInt8>, _ n: Int, from s: Int) -> Int? {
        var end = n
        while end > s && Bytes.isSpace(p[end - 1]) { end -= 1 }
        guard end > s, p[end - 1] == UInt8(ascii: "}") else { return nil }
        var i = s
        let limit = min(end, s + 256)
        while i < limit {
            let c = p[i]
            if c == UInt8(ascii: "{") { return i > s && Bytes.isSpace(p[i - 1]) ? i : nil }
            if c == UInt8(ascii: "=") || c == 0x22 { return nil }
            i += 1
        }
        return nil
    }

    /// A line of zap's console encoder (`zap.NewDevelopment()`, `zapcore.NewConsoleEncoder`, which
    /// go-kratos' zap adapter also writes through): tab-separated `time`, `level`, then the logger's
    /// name and the caller when configured, the message, and the fields as one JSON object last
    /// (`2026-11-20T08:15:06.000Z\tINFO\tcheckout/main.go:50\tpayment captured\t{"provider": "stripe"}`).
    /// The first column must be a time; the message is the last column before the fields. Nil for
    /// any other shape.
    static func consoleLine(
        _ p: UnsafePointer<UInt8>, _ n: Int, from s: Int
    ) -> (time: Range<Int>, message: Range<Int>, fields: Int?)? {
        var t1 = s
        while t1 < n && t1 - s < 40 && p[t1] != 0x09 { t1 += 1 }
        guard t1 < n, p[t1] == 0x09, ByteNumbers.parseEventTime(p + s, t1 - s) != nil else { return nil }
        var t2 = t1 + 1  // the level (colour codes allowed)
        while t2 < n && t2 - t1 < 32 && p[t2] != 0x09 { t2 += 1 }
        guard t2 < n, p[t2] == 0x09, t2 > t1 + 1 else { return nil }
        // the last column, and the one before it
        var end = n
        while end > t2 && (p[end - 1] == 0x20 || p[end - 1] == 0x0D || p[end - 1] == 0x09) { end -= 1 }
        var lastStart = end
        while lastStart > t2 + 1 && p[lastStart - 1] != 0x09 { lastStart -= 1 }
        if lastStart > t2 + 1, lastStart < end, p[lastStart] == UInt8(ascii: "{"), p[end - 1] == UInt8(ascii: "}") {
            var msgStart = lastStart - 1
            while msgStart > t2 + 1 && p[msgStart - 1] != 0x09 { msgStart -= 1 }
            return (s..<t1, msgStart..<(lastStart - 1), lastStart)
        }
        return (s..<t1, lastStart..<end, nil)
    }

    /// A line of a logger's human-readable text output: an optional time, a level word, the
    /// message as words, then `key=value` pairs. logrus' text formatter when it colours (a terminal
    /// or `ForceColors`: `INFO[0003] ApplyPromotion    coupon=X`, `[2026-11-20T08:15:07Z]` with
    /// `FullTimestamp`, the caller glued after `]` with `ReportCaller`), zerolog's `ConsoleWriter`
    /// (`8:15AM INF ApplyPromotion coupon=X`, a caller before ` > `), and hand-made layouts of the
    /// same kind (`2026-11-20 08:15:07 INFO ApplyPromotion coupon=X`). The message runs up to the
    /// first word that starts a pair. Nil when the level is followed by a pair at once (the go-kratos
    /// std logger's `INFO msg=...`, read as logfmt) or the line has another shape.
    func consoleHeader(
        _ p: UnsafePointer<UInt8>, _ n: Int, from s: Int
    ) -> (time: Range<Int>?, message: Range<Int>)? {
        var i = s
        var time: Range<Int>? = nil
        if let g = PayloadScanner.goLogHeaderEnd(p, n, from: i) {
            // Go's `log` header: its time is read by `EventExtractor.goLogTime`
            i = g
            guard i < n else { return nil }
        } else if Bytes.isDigit(p[i]) {
            // a time: RFC3339, a date and a time of day, or a clock (`time.Kitchen`, `15:04:05`)
            let t0 = i
            while i < n && i - t0 < 40 && p[i] != 0x20 { i += 1 }
            if i - t0 == 10, i + 9 <= n, p[t0 + 4] == UInt8(ascii: "-"), Bytes.isDigit(p[i + 1]),
                p[i + 3] == UInt8(ascii: ":")
            {
                i += 1
                while i < n && i - t0 < 40 && p[i] != 0x20 { i += 1 }
            }
            if i - t0 >= 19, p[t0 + 4] == UInt8(ascii: "-"), ByteNumbers.parseEventTime(p + t0, i - t0) != nil {
                time = t0..<i
            } else if !PayloadScanner.isClock(p + t0, i - t0) {
                return nil
            }
            guard i < n else { return nil }
            while i < n && p[i] == 0x20 { i += 1 }
            guard i < n else { return nil }
        }
        guard let l = PayloadScanner.levelEnd(p, n, from: i) else { return nil }
        i = l
        if i < n && p[i] == UInt8(ascii: "[") {
            // logrus: seconds since start, or the time with `FullTimestamp`
            let b = i + 1
            while i < n && i - b < 48 && p[i] != UInt8(ascii: "]") { i += 1 }
            guard i < n, p[i] == UInt8(ascii: "]") else { return nil }
            if time == nil, i - b >= 19, ByteNumbers.parseEventTime(p + b, i - b) != nil { time = b..<i }
            i += 1
            if i < n && p[i] != 0x20 {
                // `ReportCaller`: `file.go:12 pkg.Func()` glued after the bracket
                while i < n && p[i] != 0x20 { i += 1 }
                var k = i
                while k < n && p[k] == 0x20 { k += 1 }
                var e = k
                while e < n && p[e] != 0x20 { e += 1 }
                if e - k > 2 && p[e - 2] == UInt8(ascii: "(") && p[e - 1] == UInt8(ascii: ")") { i = e }
            }
        }
        guard i < n, p[i] == 0x20 else { return nil }
        while i < n && p[i] == 0x20 { i += 1 }
        let m0 = i
        if startsPair(p, n, at: m0) { return nil }
        // zerolog's caller: `cart.go:75 > `
        var m = m0
        let c = SWAR.find(p, m0, n, 0x20, 0x09)
        if c + 2 < n, p[c + 1] == UInt8(ascii: ">"), p[c + 2] == 0x20,
            Bytes.find(UInt8(ascii: ":"), p, from: m0, end: c) != nil
        {
            m = c + 3
            while m < n && p[m] == 0x20 { m += 1 }
        }
        i = m
        var end = n
        while i < n {
            if startsPair(p, n, at: i) {
                end = i
                break
            }
            i = SWAR.find(p, i, n, 0x20, 0x09)
            while i < n && (p[i] == 0x20 || p[i] == 0x09) { i += 1 }
        }
        while end > m && Bytes.isSpace(p[end - 1]) { end -= 1 }
        guard end > m else { return nil }
        return (time, m..<end)
    }

    /// Whether the word at `w` is a `key=` pair's start.
    @inline(__always)
    func startsPair(_ p: UnsafePointer<UInt8>, _ n: Int, at w: Int) -> Bool {
        let e = SWAR.find(p, w, n, UInt8(ascii: "="), 0x20, 0x09, UInt8(ascii: "\""))
        return e < n && p[e] == UInt8(ascii: "=") && e > w && isKey(p, w, e)
    }

    /// `3:04PM` (`time.Kitchen`, zerolog's console default), `15:04:05`, `15:04:05.000`.
    static func isClock(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i < n && i < 2 && Bytes.isDigit(p[i]) { i += 1 }
        guard i > 0, i < n, p[i] == UInt8(ascii: ":"), i + 3 <= n, Bytes.isDigit(p[i + 1]), Bytes.isDigit(p[i + 2])
        else { return false }
        i += 3
        if i == n { return true }
        if n - i == 2 {
            return (p[i] == UInt8(ascii: "A") || p[i] == UInt8(ascii: "P")) && p[i + 1] == UInt8(ascii: "M")
        }
        guard p[i] == UInt8(ascii: ":"), i + 3 <= n, Bytes.isDigit(p[i + 1]), Bytes.isDigit(p[i + 2]) else {
            return false
        }
        i += 3
        if i < n && (p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",")) {
            i += 1
            while i < n && Bytes.isDigit(p[i]) { i += 1 }
        }
        return i == n
    }

    /// The end of a level word at `s`: `INFO`, logrus' four letters (`ERRO`, `WARN`), zerolog's
    /// three (`INF`, `WRN`, `ERR`), the full words (`WARNING`, `ERROR`), in `[...]` or `|...|` or
    /// followed by `:`. Upper case only: a message's first word is not a level.
    static func levelEnd(_ p: UnsafePointer<UInt8>, _ n: Int, from s: Int) -> Int? {
        var i = s
        let open = p[i]
        let close: UInt8 =
            open == UInt8(ascii: "[") ? UInt8(ascii: "]") : open == UInt8(ascii: "|") ? UInt8(ascii: "|") : 0
        if close != 0 { i += 1 }
        let w = i
        var word: UInt64 = 0
        while i < n && i - w < 9 && p[i] &- 0x41 < 26 {
            word = word << 8 | UInt64(p[i])
            i += 1
        }
        guard i - w >= 3, i - w <= 8, PayloadScanner.levelWords.contains(word) else { return nil }
        if close != 0 {
            while i < n && p[i] == 0x20 { i += 1 }  // zerolog's `|INFO |`
            guard i < n, p[i] == close else { return nil }
            i += 1
        } else if i < n && p[i] == UInt8(ascii: ":") {
            i += 1
        }
        return i
    }

    /// The level words, each packed into an integer as `levelEnd` reads them.
    static let levelWords: [UInt64] = [
        "TRACE", "TRAC", "TRC", "DEBUG", "DEBU", "DBG", "INFO", "INF", "WARNING", "WARN", "WRN", "ERROR", "ERRO", "ERR",
        "FATAL", "FATA", "FTL", "PANIC", "PANI", "PNC", "CRITICAL", "NOTICE",
    ].map { $0.utf8.reduce(0) { $0 << 8 | UInt64($1) } }

    /// Reads `key=value` pairs written into the message itself (`log.Infof("ApplyPromotion
    /// coupon=%s user_id=%s", ...)` through a JSON or quoted-logfmt logger), ranked below every key
    /// of the line: they only fill fields the line lacks. The message must be an unescaped string
    /// of the line scanned last (its offsets stay the line's).
    public func scanMessagePairs(_ p: UnsafePointer<UInt8>) {
        let m = slots[Int(Field.name.rawValue)]
        guard m.type == .plain, m.length > 0 else { return }
        let s = Int(m.start)
        _ = scanLogfmt(p, s + Int(m.length), from: s, rankOffset: 64)
    }

    /// The end of klog's header (`I1120 08:15:01.123456   12345 cart.go:75] `: severity, month and
    /// day, time of day, thread id, file and line) starting at `s`: where the message starts. Nil
    /// for any other shape.
    static func klogHeaderEnd(_ p: UnsafePointer<UInt8>, _ n: Int, from s: Int) -> Int? {
        guard n - s >= 26 else { return nil }
        let l = p[s]
        guard l == UInt8(ascii: "I") || l == UInt8(ascii: "W") || l == UInt8(ascii: "E") || l == UInt8(ascii: "F"),
            Bytes.isDigit(p[s + 1])
        else { return nil }
        var k = 2
        while k <= 20 {
            if k != 5 && k != 8 && k != 11 && k != 14 && !Bytes.isDigit(p[s + k]) { return nil }
            k += 1
        }
        guard p[s + 5] == 0x20, p[s + 8] == UInt8(ascii: ":"), p[s + 11] == UInt8(ascii: ":"),
            p[s + 14] == UInt8(ascii: "."), p[s + 21] == 0x20
        else { return nil }
        var i = s + 21
        while i < n && p[i] == 0x20 { i += 1 }
        let id = i
        while i < n && Bytes.isDigit(p[i]) { i += 1 }
        guard i > id, i < n, p[i] == 0x20 else { return nil }
        // file:line]
        let limit = min(n - 1, i + 256)
        while i < limit && p[i] != UInt8(ascii: "]") { i += 1 }
        guard i < limit, p[i] == UInt8(ascii: "]"), p[i + 1] == 0x20 else { return nil }
        return i + 2
    }

    /// klog's message: structured (`klog.InfoS`: the message quoted, then `key="value"` pairs) or
    /// formatted text (`klog.Infof`, the whole rest the name).
    func scanKlogMessage(_ p: UnsafePointer<UInt8>, _ n: Int, from h: Int) -> Bool {
        guard h < n else { return false }
        if p[h] == 0x22 {
            var esc = false
            guard let e = PayloadScanner.stringEnd(p, from: h + 1, end: n, escaped: &esc) else { return false }
            record(.name, rank: 0, start: h + 1, length: e - h - 1, type: esc ? .escaped : .plain)
            _ = scanLogfmt(p, n, from: e + 1)
            return true
        }
        var end = n
        while end > h && Bytes.isSpace(p[end - 1]) { end -= 1 }
        record(.name, rank: 0, start: h, length: end - h, type: .plain)
        noteValue(p, h, end - h)
        return true
    }

    /// The field of key `p[ks..<ke]`; a dotted key promowatch does not read as a whole
    /// (`req.coupon`, `client.ip`: slog's groups in text, loggers that flatten nested fields) by its
    /// last part, ranked below every key of the line's top level, as a nested JSON key is. Only
    /// for the values of an event (code, account, provider, amounts, outcome, errors): a dotted
    /// `event.duration` or `error.code` does not make a line a request or name an event.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ ks: Int, _ ke: Int, _ n: Int) -> (field: Field, rank: UInt8)? {
        if let hit = keys.lookup(p + ks, ke &- ks, readable: n &- ks) { return hit }
        var d = ke &- 1
        while d > ks && p[d] != UInt8(ascii: ".") { d &-= 1 }
        guard d > ks, d &+ 1 < ke, let (f, r) = keys.lookup(p + d + 1, ke &- d &- 1, readable: n &- d &- 1),
            f.isEventValue
        else { return nil }
        return (f, min(255, r &+ 16))
    }

    // MARK: JSON

    /// Index of the closing quote of a string whose body starts at `from`, or nil.
    @inline(__always)
    static func stringEnd(_ p: UnsafePointer<UInt8>, from: Int, end n: Int) -> Int? {
        var escaped = false
        return stringEnd(p, from: from, end: n, escaped: &escaped)
    }

    /// Same, also telling whether the body holds a backslash escape. One pass over the bytes.
    @inline(__always)
    static func stringEnd(_ p: UnsafePointer<UInt8>, from: Int, end n: Int, escaped: inout Bool) -> Int? {
        var q = from
        while true {
            let k = SWAR.find(p, q, n, 0x22, 0x5C)
            if k >= n { return nil }
            if p[k] == 0x22 { return k }
            escaped = true
            q = k &+ 2  // skip the escaped character
            if q > n { return nil }
        }
    }

    /// Skips a JSON array or object starting at `i` (which holds `[` or `{`); returns the index after it.
    static func skipCompound(_ p: UnsafePointer<UInt8>, _ n: Int, from: Int) -> Int? {
        var depth = 0
        var i = from
        while i < n {
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                guard let e = stringEnd(p, from: i + 1, end: n) else { return nil }
                i = e + 1
                continue
            }
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
                depth += 1
            } else if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return i + 1 }
            }
            i += 1
        }
        return nil
    }

    func scanJSON(_ p: UnsafePointer<UInt8>, _ n: Int, from start: Int) -> Bool {
        var i = start + 1
        var depth = 1
        while true {
            while i < n && Bytes.isSpace(p[i]) { i += 1 }
            guard i < n else { return false }
            var c = p[i]
            if c == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if c == UInt8(ascii: "}") {
                depth -= 1
                i += 1
                if depth == 0 { return true }
                continue
            }
            guard c == UInt8(ascii: "\"") else { return false }
            let ks = i &+ 1
            guard let ke = PayloadScanner.stringEnd(p, from: ks, end: n) else { return false }
            i = ke + 1
            while i < n && Bytes.isSpace(p[i]) { i += 1 }
            guard i < n, p[i] == UInt8(ascii: ":") else { return false }
            i += 1
            while i < n && Bytes.isSpace(p[i]) { i += 1 }
            guard i < n else { return false }
            let hit = lookup(p, ks, ke, n)
            let rank: UInt8 =
                hit.map { depth == 1 ? $0.rank : min(255, $0.rank &+ 16 &* UInt8(min(depth - 1, 14))) } ?? 0
            c = p[i]
            if c == UInt8(ascii: "\"") {
                let vs = i &+ 1
                var esc = false
                guard let ve = PayloadScanner.stringEnd(p, from: vs, end: n, escaped: &esc) else { return false }
                i = ve &+ 1
                if let (f, _) = hit {
                    record(f, rank: rank, start: vs, length: ve &- vs, type: esc ? .escaped : .plain)
                }
                noteValue(p, vs, ve - vs)
            } else if c == UInt8(ascii: "{") {
                if let (f, _) = hit { record(f, rank: rank, start: i, length: 1, type: .compound) }
                depth += 1
                i += 1
                continue
            } else if c == UInt8(ascii: "[") {
                guard let e = PayloadScanner.skipCompound(p, n, from: i) else { return false }
                if let (f, _) = hit { record(f, rank: rank, start: i, length: e - i, type: .compound) }
                i = e
            } else {
                let vs = i
                i = SWAR.find(p, i, n, UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20)
                while i > vs && Bytes.isSpace(p[i &- 1]) { i &-= 1 }  // "1\n}" style: trim other white space
                guard i > vs else { return false }
                if let (f, _) = hit {
                    let isNull = i - vs == 4 && Bytes.equals(p + vs, 4, "null")
                    record(f, rank: rank, start: vs, length: i - vs, type: isNull ? .null : .bare)
                }
            }
        }
    }

    // MARK: logfmt

    @inline(__always)
    static func isKeyByte(_ b: UInt8) -> Bool {
        (b | 0x20) &- 0x61 < 26 || b &- 0x30 < 10 || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
            || b == UInt8(ascii: "-") || b == UInt8(ascii: "@")
    }

    /// `key=value` pairs separated by spaces; values bare or double-quoted with `\"` and `\\`.
    /// Bare words without `=` (a leading level word such as `INFO`) are allowed and ignored.
    func scanLogfmt(_ p: UnsafePointer<UInt8>, _ n: Int, from start: Int, rankOffset: UInt8 = 0) -> Bool {
        var i = start
        var pairs = 0
        // The go-kratos std logger never quotes: an unquoted value runs on over the words after it
        // up to the next ` key=` (a key of letters, digits, `_`, `.`, `-` or `@`, then `=`), so
        // `msg=payment authorization failed provider=stripe` names `payment authorization failed`.
        // The last unquoted value stays open and is recorded when the next pair starts; every
        // byte is scanned once.
        var openKey: (field: Field, rank: UInt8)? = nil
        var openStart = -1
        var openEnd = 0
        while true {
            while i < n && (p[i] == 0x20 || p[i] == 0x09) { i &+= 1 }
            if i >= n { break }
            let ks = i
            i = SWAR.find(p, i, n, UInt8(ascii: "="), 0x20, 0x09, UInt8(ascii: "\""))
            var hit: (field: Field, rank: UInt8)? = nil
            var pair = false
            if i < n && p[i] == UInt8(ascii: "=") && i > ks {
                hit = lookup(p, ks, i, n)
                if rankOffset != 0, let (f, r) = hit { hit = (f, r &+ rankOffset) }
                // a key promowatch reads is a key; after an open unquoted value, another word
                // ending in `=` only when all its bytes are a key's
                pair = openStart < 0 || hit != nil || isKey(p, ks, i)
            }
            if pair {
                if openStart >= 0 {
                    if let (f, r) = openKey {
                        record(f, rank: r, start: openStart, length: openEnd &- openStart, type: .bare)
                    }
                    noteValue(p, openStart, openEnd &- openStart)
                    openStart = -1
                }
                i &+= 1
                pairs &+= 1
                if i < n && p[i] == UInt8(ascii: "\"") {
                    let vs = i &+ 1
                    var esc = false
                    guard let e = PayloadScanner.stringEnd(p, from: vs, end: n, escaped: &esc) else {
                        return pairs > 1  // unterminated quote: a fragment; keep what was read before it
                    }
                    i = e &+ 1
                    if let (f, r) = hit {
                        record(f, rank: r, start: vs, length: e &- vs, type: esc ? .escaped : .plain)
                    }
                    noteValue(p, vs, e &- vs)
                } else {
                    openKey = hit
                    openStart = i
                    i = SWAR.find(p, i, n, 0x20, 0x09)
                    openEnd = i
                }
            } else if i < n && p[i] == UInt8(ascii: "\"") {
                // a quoted word (`promotion_code:"X"` inside an unquoted value): skip it whole
                if let e = PayloadScanner.stringEnd(p, from: i &+ 1, end: n) {
                    i = SWAR.find(p, e &+ 1, n, 0x20, 0x09)
                } else if openStart >= 0 {
                    i = SWAR.find(p, i &+ 1, n, 0x20, 0x09)  // a stray quote inside a value
                } else {
                    return pairs > 0
                }
                if openStart >= 0 { openEnd = i }
            } else {
                i = SWAR.find(p, i, n, 0x20, 0x09)
                if openStart >= 0 { openEnd = i }
            }
        }
        if openStart >= 0 {
            if let (f, r) = openKey { record(f, rank: r, start: openStart, length: openEnd &- openStart, type: .bare) }
            noteValue(p, openStart, openEnd &- openStart)
        }
        return pairs > 0
    }

}

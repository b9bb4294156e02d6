import PromowatchCore

/// A compact binary form of detector state (snapshots that carry history across `cron` runs, and
/// the per-minute partial aggregates `watch --shared` instances exchange). Plain bytes, no I/O:
/// the store decides where they live.
///
/// Integers are LEB128 varints (signed ones zig-zagged), doubles their IEEE bits. Coupon and
/// provider ids are local to a process (interned as they are met), so they are written as indexes
/// into name tables carried in the same blob and interned again on reading.
struct StateCodecError: Error, CustomStringConvertible, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { "detector state: \(message)" }
}

struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u(_ v: UInt64) {
        var x = v
        while x >= 0x80 {
            bytes.append(UInt8(x & 0x7F) | 0x80)
            x >>= 7
        }
        bytes.append(UInt8(x))
    }
    mutating func i(_ v: Int64) { u(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    mutating func int(_ v: Int) { i(Int64(v)) }
    mutating func i32(_ v: Int32) { i(Int64(v)) }
    mutating func d(_ v: Double) { u(v.bitPattern) }
    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    mutating func str(_ s: String) {
        let b = Array(s.utf8)
        u(UInt64(b.count))
        bytes += b
    }
    mutating func optStr(_ s: String?) {
        bool(s != nil)
        if let s { str(s) }
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var at = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { at >= bytes.count }

    mutating func u() throws -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard at < bytes.count else { throw StateCodecError("truncated") }
            let b = bytes[at]
            at += 1
            guard shift < 64 else { throw StateCodecError("bad varint") }
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }
    mutating func i() throws -> Int64 {
        let x = try u()
        return Int64(bitPattern: (x >> 1) ^ (0 &- (x & 1)))
    }
    mutating func int() throws -> Int { Int(try i()) }
    mutating func i32() throws -> Int32 {
        let v = try i()
        guard let r = Int32(exactly: v) else { throw StateCodecError("value out of range") }
        return r
    }
    /// A count of following items; each takes at least one byte, so a corrupt count fails here.
    mutating func count() throws -> Int {
        let n = try u()
        guard n <= UInt64(bytes.count - at) else { throw StateCodecError("bad length") }
        return Int(n)
    }
    mutating func d() throws -> Double { Double(bitPattern: try u()) }
    mutating func bool() throws -> Bool {
        guard at < bytes.count else { throw StateCodecError("truncated") }
        at += 1
        return bytes[at - 1] != 0
    }
    mutating func str() throws -> String {
        let n = try count()
        defer { at += n }
        return String(decoding: bytes[at..<at + n], as: UTF8.self)
    }
    mutating func optStr() throws -> String? { try bool() ? try str() : nil }
}

/// Process-local ids of one symbol table, written as indexes into a list of their names.
struct NameList {
    let table: SymbolTable
    var index: [Int32: Int] = [:]
    var names: [String] = []

    /// Negative ids (none, overflow) are kept as they are; others become their name's index.
    mutating func write(_ id: Int32, _ w: inout ByteWriter) {
        guard id >= 0 else {
            w.i(Int64(id))
            return
        }
        if let i = index[id] {
            w.i(Int64(i))
            return
        }
        index[id] = names.count
        w.i(Int64(names.count))
        names.append(table.string(id))
    }

    func writeNames(_ w: inout ByteWriter) {
        w.u(UInt64(names.count))
        for n in names { w.str(n) }
    }
}

/// Writes process-local coupon/provider ids as indexes into name tables.
struct NameWriter {
    var coupons: NameList
    var providers: NameList
    init(coupons: SymbolTable, providers: SymbolTable) {
        self.coupons = NameList(table: coupons)
        self.providers = NameList(table: providers)
    }

    mutating func coupon(_ id: Int32, _ w: inout ByteWriter) { coupons.write(id, &w) }
    mutating func provider(_ id: Int32, _ w: inout ByteWriter) { providers.write(id, &w) }

    func tables(_ w: inout ByteWriter) {
        coupons.writeNames(&w)
        providers.writeNames(&w)
    }
}

/// Maps name-table indexes back to this process's ids (interning the names).
struct NameReader {
    var coupons: [Int32] = []
    var providers: [Int32] = []

    init(_ r: inout ByteReader, couponTable: SymbolTable, providerTable: SymbolTable) throws {
        for _ in 0..<(try r.count()) { coupons.append(couponTable.intern(try r.str())) }
        for _ in 0..<(try r.count()) { providers.append(providerTable.intern(try r.str())) }
    }

    func coupon(_ r: inout ByteReader) throws -> Int32 { try map(r.i32(), coupons) }
    func provider(_ r: inout ByteReader) throws -> Int32 { try map(r.i32(), providers) }
    private func map(_ v: Int32, _ table: [Int32]) throws -> Int32 {
        if v < 0 { return v }
        guard Int(v) < table.count else { throw StateCodecError("unknown name index") }
        return table[Int(v)]
    }
}

// MARK: sketches

extension BottomK {
    func encode(_ w: inout ByteWriter) {
        w.int(k)
        w.u(UInt64(values.count))
        for v in values { w.u(v) }
    }
    static func decode(_ r: inout ByteReader) throws -> BottomK {
        let k = try r.int()
        guard k > 0 && k <= 1 << 16 else { throw StateCodecError("bad sketch size") }
        var b = BottomK(k: k)
        for _ in 0..<(try r.count()) { b.insert(try r.u()) }
        return b
    }
}

extension LatencyHistogram {
    func encode(_ w: inout ByteWriter) { for c in counts { w.i32(c) } }
    static func decode(_ r: inout ByteReader) throws -> LatencyHistogram {
        var h = LatencyHistogram()
        for b in 0..<LatencyHistogram.bins { h.add(bin: b, count: try r.i32()) }
        return h
    }
}

extension TopK {
    func encode(_ w: inout ByteWriter, _ payload: (Payload, inout ByteWriter) -> Void) {
        w.int(capacity)
        w.u(UInt64(count))
        for i in 0..<count {
            w.u(keys[i])
            w.i32(counts[i])
            w.i32(errors[i])
            payload(payloads[i], &w)
        }
    }
    static func decode(_ r: inout ByteReader, _ payload: (inout ByteReader) throws -> Payload) throws -> TopK {
        let capacity = try r.int()
        guard capacity > 0 && capacity <= 1 << 16 else { throw StateCodecError("bad table size") }
        var t = TopK(capacity: capacity)
        let n = try r.count()
        guard n <= capacity else { throw StateCodecError("table over capacity") }
        for _ in 0..<n { t.restore(key: try r.u(), count: try r.i32(), error: try r.i32(), payload: try payload(&r)) }
        return t
    }
}

extension ReusePayload {
    func encode(_ w: inout ByteWriter, _ names: inout NameWriter) {
        w.u(UInt64(kind.rawValue))
        w.u(identity)
        names.coupon(coupon, &w)
        w.optStr(name)
        accounts.encode(&w)
    }
    static func decode(_ r: inout ByteReader, _ names: NameReader) throws -> ReusePayload {
        guard let kind = IdentityKind(rawValue: UInt8(truncatingIfNeeded: try r.u())) else {
            throw StateCodecError("bad identity kind")
        }
        var p = ReusePayload(kind: kind, identity: try r.u(), coupon: try names.coupon(&r), name: try r.optStr())
        p.accounts = try BottomK.decode(&r)
        return p
    }
}

extension IdentityPayload {
    func encode(_ w: inout ByteWriter) {
        w.u(UInt64(kind.rawValue))
        w.u(identity)
        distinct.encode(&w)
        w.i32(small)
        w.optStr(name)
    }
    static func decode(_ r: inout ByteReader) throws -> IdentityPayload {
        guard let kind = IdentityKind(rawValue: UInt8(truncatingIfNeeded: try r.u())) else {
            throw StateCodecError("bad identity kind")
        }
        return IdentityPayload(
            kind: kind, identity: try r.u(), distinct: try BottomK.decode(&r), small: try r.i32(), name: try r.optStr())
    }
}

// MARK: buckets

extension MinuteBucket {
    func encode(_ w: inout ByteWriter, _ names: inout NameWriter) {
        for v in [applied, rejected, attempts, declines, smallDeclines, compensation, requests, timeouts, dbSaturation]
        { w.i32(v) }
        w.u(UInt64(coupons.count))
        for (c, s) in coupons.sorted(by: { $0.key < $1.key }) {
            names.coupon(c, &w)
            w.i32(s.applied)
            w.d(s.discount)
            w.d(s.sharedDiscount)
            w.d(s.sharedSubtotal)
            w.i32(s.sharedCount)
            w.i32(s.stacked)
            s.accounts.encode(&w)
        }
        var n = names
        reuse.encode(&w) { p, w in p.encode(&w, &n) }
        names = n
        rejectors.encode(&w) { p, w in p.encode(&w) }
        decliners.encode(&w) { p, w in p.encode(&w) }
        w.u(UInt64(providers.count))
        for (p, s) in providers.sorted(by: { $0.key < $1.key }) {
            names.provider(p, &w)
            w.i32(s.attempts)
            w.i32(s.succeeded)
            w.i32(s.declined)
            w.i32(s.failures)
        }
        declineCards.encode(&w)
        latency.encode(&w)
        let a = anomalous
        w.u(UInt64(a.coupons.count))
        for c in a.coupons.sorted() { names.coupon(c, &w) }
        w.u(UInt64(a.providers.count))
        for p in a.providers.sorted() { names.provider(p, &w) }
        for f in [a.rejected, a.declines, a.compensation, a.timeouts] { w.bool(f) }
    }

    static func decode(_ r: inout ByteReader, _ names: NameReader) throws -> MinuteBucket {
        let b = MinuteBucket()
        b.failingAccountsKnown = false  // until the blob's failing-accounts section says otherwise
        b.applied = try r.i32()
        b.rejected = try r.i32()
        b.attempts = try r.i32()
        b.declines = try r.i32()
        b.smallDeclines = try r.i32()
        b.compensation = try r.i32()
        b.requests = try r.i32()
        b.timeouts = try r.i32()
        b.dbSaturation = try r.i32()
        for _ in 0..<(try r.count()) {
            let c = try names.coupon(&r)
            var s = CouponStat()
            s.applied = try r.i32()
            s.discount = try r.d()
            s.sharedDiscount = try r.d()
            s.sharedSubtotal = try r.d()
            s.sharedCount = try r.i32()
            s.stacked = try r.i32()
            s.accounts = try BottomK.decode(&r)
            b.coupons.merge(c, s)
        }
        b.reuse = try TopK.decode(&r) { try ReusePayload.decode(&$0, names) }
        b.rejectors = try TopK.decode(&r) { try IdentityPayload.decode(&$0) }
        b.decliners = try TopK.decode(&r) { try IdentityPayload.decode(&$0) }
        for _ in 0..<(try r.count()) {
            let p = try names.provider(&r)
            var s = b.providers[p] ?? ProviderStat()
            s.attempts += try r.i32()
            s.succeeded += try r.i32()
            s.declined += try r.i32()
            s.failures += try r.i32()
            b.providers[p] = s
        }
        b.declineCards = try BottomK.decode(&r)
        b.latency = try LatencyHistogram.decode(&r)
        for _ in 0..<(try r.count()) { b.anomalous.coupons.insert(try names.coupon(&r)) }
        for _ in 0..<(try r.count()) { b.anomalous.providers.insert(try names.provider(&r)) }
        b.anomalous.rejected = try r.bool()
        b.anomalous.declines = try r.bool()
        b.anomalous.compensation = try r.bool()
        b.anomalous.timeouts = try r.bool()
        return b
    }
}

// MARK: baseline totals

extension PastTotals {
    private static func doubles(_ m: [Int32: Double], _ w: inout ByteWriter, _ id: (Int32, inout ByteWriter) -> Void) {
        w.u(UInt64(m.count))
        for (k, v) in m.sorted(by: { $0.key < $1.key }) {
            id(k, &w)
            w.d(v)
        }
    }
    private static func doubles(_ r: inout ByteReader, _ id: (inout ByteReader) throws -> Int32) throws -> [Int32:
        Double]
    {
        var m: [Int32: Double] = [:]
        for _ in 0..<(try r.count()) {
            let k = try id(&r)
            m[k, default: 0] += try r.d()
        }
        return m
    }

    func encode(_ w: inout ByteWriter, _ names: inout NameWriter) {
        w.int(minutes)
        for v in [applied, rejected, reference, attempts, declines, compensation, traffic, requests, timeouts] {
            w.d(v)
        }
        var n = names
        let c: (Int32, inout ByteWriter) -> Void = { n.coupon($0, &$1) }
        PastTotals.doubles(couponApplied, &w, c)
        PastTotals.doubles(couponSharedDiscount, &w, c)
        PastTotals.doubles(couponSharedSubtotal, &w, c)
        PastTotals.doubles(couponSharedCount, &w, c)
        w.u(UInt64(couponAccounts.count))
        for (k, v) in couponAccounts.sorted(by: { $0.key < $1.key }) {
            n.coupon(k, &w)
            v.encode(&w)
        }
        w.u(UInt64(couponFirstMinute.count))
        for (k, v) in couponFirstMinute.sorted(by: { $0.key < $1.key }) {
            n.coupon(k, &w)
            w.int(v)
        }
        let p: (Int32, inout ByteWriter) -> Void = { n.provider($0, &$1) }
        PastTotals.doubles(providerAttempts, &w, p)
        PastTotals.doubles(providerFailures, &w, p)
        names = n
        hours.encode(&w, &names)
    }

    static func decode(_ r: inout ByteReader, _ names: NameReader) throws -> PastTotals {
        var t = PastTotals()
        t.minutes = try r.int()
        t.applied = try r.d()
        t.rejected = try r.d()
        t.reference = try r.d()
        t.attempts = try r.d()
        t.declines = try r.d()
        t.compensation = try r.d()
        t.traffic = try r.d()
        t.requests = try r.d()
        t.timeouts = try r.d()
        let c: (inout ByteReader) throws -> Int32 = { try names.coupon(&$0) }
        t.couponApplied = try doubles(&r, c)
        t.couponSharedDiscount = try doubles(&r, c)
        t.couponSharedSubtotal = try doubles(&r, c)
        t.couponSharedCount = try doubles(&r, c)
        for _ in 0..<(try r.count()) {
            let k = try names.coupon(&r)
            t.couponAccounts[k, default: BottomK(k: 8)].merge(try BottomK.decode(&r))
        }
        for _ in 0..<(try r.count()) {
            let k = try names.coupon(&r)
            let v = try r.int()
            t.couponFirstMinute[k] = min(t.couponFirstMinute[k] ?? v, v)
        }
        let p: (inout ByteReader) throws -> Int32 = { try names.provider(&$0) }
        t.providerAttempts = try doubles(&r, p)
        t.providerFailures = try doubles(&r, p)
        t.hours = try HourProfile.decode(&r, names)
        return t
    }
}

extension HourProfile {
    func encode(_ w: inout ByteWriter, _ names: inout NameWriter) {
        for a in [minutes, reference, applied] { for v in a { w.d(v) } }
        w.u(UInt64(coupons.count))
        for (k, v) in coupons.sorted(by: { $0.key < $1.key }) {
            names.coupon(k, &w)
            for x in v { w.d(x) }
        }
        w.u(UInt64(providerAttempts.count))
        for (k, v) in providerAttempts.sorted(by: { $0.key < $1.key }) {
            names.provider(k, &w)
            for x in v { w.d(x) }
        }
        w.u(UInt64(providerFailures.count))
        for (k, v) in providerFailures.sorted(by: { $0.key < $1.key }) {
            names.provider(k, &w)
            for x in v { w.d(x) }
        }
    }

    static func decode(_ r: inout ByteReader, _ names: NameReader) throws -> HourProfile {
        var h = HourProfile()
        func hours(_ r: inout ByteReader) throws -> [Double] { try (0..<24).map { _ in try r.d() } }
        h.minutes = try hours(&r)
        h.reference = try hours(&r)
        h.applied = try hours(&r)
        for _ in 0..<(try r.count()) {
            let k = try names.coupon(&r)
            h.coupons[k] = try hours(&r)
        }
        for _ in 0..<(try r.count()) {
            let k = try names.provider(&r)
            h.providerAttempts[k] = try hours(&r)
        }
        for _ in 0..<(try r.count()) {
            let k = try names.provider(&r)
            h.providerFailures[k] = try hours(&r)
        }
        return h
    }
}

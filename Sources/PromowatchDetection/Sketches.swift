#if canImport(Glibc)
    import Glibc
#endif
import CByteSearch

/// Bounded, mergeable summaries. Each is insensitive to the order of its inputs where it
/// matters for batch results (bottom-k, min-time), or errs on the safe side (space-saving
/// reports a guaranteed lower bound).

/// The `k` smallest distinct 64-bit hashes seen: the exact distinct count while it has fewer than
/// `k`, an estimate (k-1)/h_k * 2^64 beyond. The same set whatever the input order.
struct BottomK: Sendable, Equatable {
    let k: Int
    private(set) var values: [UInt64] = []

    init(k: Int) { self.k = k }

    mutating func insert(_ h: UInt64) {
        if values.count == k, let last = values.last, h >= last { return }
        var lo = 0
        var hi = values.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] < h { lo = mid + 1 } else { hi = mid }
        }
        if lo < values.count && values[lo] == h { return }
        values.insert(h, at: lo)
        if values.count > k { values.removeLast() }
    }

    mutating func merge(_ o: BottomK) { for v in o.values { insert(v) } }

    /// Estimated number of distinct values.
    var estimate: Double {
        guard values.count >= k, let last = values.last else { return Double(values.count) }
        return Double(k - 1) / (Double(last) / 18_446_744_073_709_551_616.0)
    }
}

/// Space-Saving heavy hitters over 64-bit keys with `capacity` counters. `lowerBound(i)` is a
/// guaranteed lower bound of a key's true count, which is what thresholds are compared with, so
/// an attacker flooding distinct keys can only hide counts, never invent them.
///
/// Once the table is full it gets a small count-min sketch (allocated only then): a new key may
/// replace the smallest counter only when the sketch says it has been seen more often than that
/// counter. A flood of one-off keys then churns among itself while a key that keeps coming back
/// (one ip trying code after code) gets in after a few attempts and stays.
struct TopK<Payload: Sendable>: Sendable {
    let capacity: Int
    private(set) var keys: [UInt64] = []
    private(set) var counts: [Int32] = []
    private(set) var errors: [Int32] = []
    var payloads: [Payload] = []
    /// Count-min counters, saturating at 65,535: a minute rarely holds that many of one cell's
    /// events, and a batch keeps every minute's table until its end (4 bytes a counter made the
    /// sketches of a busy shop's 5,000 minutes 60 MB).
    private var sketch: [UInt16] = []
    /// Slot of the smallest counter, or -1 when it may have changed (found again lazily: a flood
    /// of newcomers that are turned away then costs no scan at all).
    private var minSlot = -1
    static var sketchWidth: Int { 1024 }
    static var sketchRows: Int { 3 }

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { keys.count }

    /// Counts `key` in the sketch (when there is one) and returns its estimate.
    private mutating func estimate(_ key: UInt64, _ by: Int32) -> Int32 {
        if sketch.isEmpty { return 0 }
        var est = UInt16.max
        let add = UInt16(clamping: by)
        for r in 0..<TopK.sketchRows {
            let x = (key ^ (UInt64(r) &* 0x9E37_79B9_7F4A_7C15)) &* 0xBF58_476D_1CE4_E5B9
            let i = r * TopK.sketchWidth + Int(truncatingIfNeeded: x >> 52) & (TopK.sketchWidth - 1)
            let (v, over) = sketch[i].addingReportingOverflow(add)
            sketch[i] = over ? .max : v
            est = min(est, sketch[i])
        }
        return Int32(est)
    }

    /// Adds `by` to `key`; returns its slot, or nil when the key was not admitted.
    /// `fresh` makes the payload of a new or replaced slot.
    @discardableResult
    mutating func add(_ key: UInt64, by: Int32 = 1, fresh: () -> Payload) -> Int? {
        let est = estimate(key, by)
        let found = keys.withUnsafeBufferPointer { ks -> Int in
            var i = 0
            while i < ks.count {
                if ks[i] == key { return i }
                i &+= 1
            }
            return -1
        }
        if found >= 0 {
            counts[found] +~= by
            if found == minSlot { minSlot = -1 }
            return found
        }
        if keys.count < capacity {
            keys.append(key)
            counts.append(by)
            errors.append(0)
            payloads.append(fresh())
            minSlot = -1
            return keys.count - 1
        }
        if sketch.isEmpty {
            sketch = [UInt16](repeating: 0, count: TopK.sketchWidth * TopK.sketchRows)
            _ = estimate(key, by)
            return nil
        }
        if minSlot < 0 {
            var m = 0
            for i in 1..<counts.count where counts[i] < counts[m] { m = i }
            minSlot = m
        }
        let m = minSlot
        guard est > counts[m] else { return nil }
        keys[m] = key
        counts[m] = est
        errors[m] = est - by
        payloads[m] = fresh()
        minSlot = -1
        return m
    }

    func lowerBound(_ i: Int) -> Int32 { counts[i] - errors[i] }

    /// Whether some key was turned away or replaced: below capacity the counts are exact.
    var overflowed: Bool { !sketch.isEmpty }

    /// Appends a counter as it was saved (state restore; the caller keeps within capacity).
    mutating func restore(key: UInt64, count: Int32, error: Int32, payload: Payload) {
        keys.append(key)
        counts.append(count)
        errors.append(error)
        payloads.append(payload)
        minSlot = -1
    }

    /// Adds another table's counters (partial aggregates of the same minute from several
    /// instances): counts and errors of a shared key add up, `combine` merges its payloads; when
    /// more keys than `capacity` result, the largest counts stay. Exact while nothing is evicted.
    mutating func merge(_ o: TopK, combine: (inout Payload, Payload) -> Void) {
        var index: [UInt64: Int] = [:]
        for i in 0..<keys.count { index[keys[i]] = i }
        for j in 0..<o.count {
            if let i = index[o.keys[j]] {
                counts[i] +~= o.counts[j]
                errors[i] += o.errors[j]
                combine(&payloads[i], o.payloads[j])
            } else {
                index[o.keys[j]] = keys.count
                keys.append(o.keys[j])
                counts.append(o.counts[j])
                errors.append(o.errors[j])
                payloads.append(o.payloads[j])
            }
        }
        if keys.count > capacity {
            let keep = (0..<keys.count).sorted { (counts[$0], keys[$0]) > (counts[$1], keys[$1]) }.prefix(capacity)
                .sorted()
            keys = keep.map { keys[$0] }
            counts = keep.map { counts[$0] }
            errors = keep.map { errors[$0] }
            payloads = keep.map { payloads[$0] }
        }
        minSlot = -1
    }
}

/// For each identity hash, the earliest minute it was seen: `cells` minute counters, each holding
/// the minimum over the identities that hash there; an identity uses 4 cells of one 64-byte block
/// (one cache miss per update). The estimate (the largest of its 4 cells) never exceeds the true
/// first-seen minute except where all 4 cells are shared with earlier identities, which stays
/// rare while the table is far from full. Order-independent: min is commutative.
final class FirstSeenSketch {
    /// Each cell holds `Int32.max - minute` (so the earliest minute is the largest value), and 0
    /// for never: the table comes from `calloc`, whose pages the system hands out zeroed and only
    /// when first touched, so a run pays for the cells it uses, not for 8 MB up front.
    private let cells: UnsafeMutablePointer<UInt32>
    private let count: Int
    private let blockMask: Int
    static let never = Int32.max

    @inline(__always) private static func stored(_ minute: Int32) -> UInt32 {
        UInt32(truncatingIfNeeded: Int64(Int32.max) - Int64(minute))
    }
    @inline(__always) private static func minute(_ v: UInt32) -> Int32 {
        Int32(truncatingIfNeeded: Int64(Int32.max) - Int64(v))
    }

    /// `log2Cells` 21 = 2 Mi cells = 8 MB: room for some 500,000 identities a run before judgements blur.
    init(log2Cells: Int = 21) {
        count = 1 << log2Cells
        guard let p = calloc(count, MemoryLayout<UInt32>.stride) else { fatalError("out of memory") }
        cells = p.bindMemory(to: UInt32.self, capacity: count)
        blockMask = (1 << (log2Cells - 4)) - 1
    }

    deinit { free(cells) }

    @inline(__always) private func slots(_ h0: UInt64) -> (Int, Int, Int, Int) {
        let h = h0 &* 0x9E37_79B9_7F4A_7C15
        let base = (Int(truncatingIfNeeded: h >> 20) & blockMask) << 4
        return (base | Int(h & 15), base | Int((h >> 4) & 15), base | Int((h >> 8) & 15), base | Int((h >> 12) & 15))
    }

    private var pendingHash: UInt64 = 0
    private var pendingMinute: Int32 = 0

    /// Records that `h` was seen at `minute`. The write lands one call later: this call only asks
    /// the CPU to fetch the block, so its cache miss overlaps with the work until the next event.
    func note(_ h: UInt64, minute: Int32) {
        let (a, _, _, _) = slots(h)
        promowatch_prefetch(cells + (a & ~15))
        if pendingHash != 0 { apply(pendingHash, pendingMinute) }
        pendingHash = h
        pendingMinute = minute
    }

    private func apply(_ h: UInt64, _ minute: Int32) {
        let (a, b, c, d) = slots(h)
        let v = FirstSeenSketch.stored(minute)
        if tracking {
            for i in [a, b, c, d] where v > cells[i] { changed.append(Int32(i)) }
        }
        raise(a, v)
        raise(b, v)
        raise(c, v)
        raise(d, v)
    }

    @inline(__always) private func raise(_ i: Int, _ v: UInt32) {
        let old = cells[i]
        if v > old {
            occupied &+= old == 0 ? 1 : 0
            cells[i] = v
        }
    }

    /// Cells that hold an identity.
    private(set) var occupied = 0

    /// The chance that an identity never seen reads as seen long before: all its cells already
    /// taken by others long enough ago. With the share `r` of cells taken, about `r^4`: fewer
    /// distinct cells and fuller blocks raise it, cells taken in the last minutes (which still read
    /// new) lower it, a small share of the cells once the sketch is full enough for this to matter.
    /// Under 1% up to some 200,000 identities in 8 MB; 37% at 800,000.
    var readsOldWhenNew: Double {
        flush()
        let r = Double(occupied) / Double(count)
        return (r * r) * (r * r)
    }

    /// The share of new identities that still read new: what shares of new identities are
    /// divided by (at least 5%, so a saturated sketch cannot multiply them twentyfold).
    var readsNew: Double { max(0.05, 1 - readsOldWhenNew) }

    /// `watch --shared`: remember which cells changed, to send them to the leader.
    var tracking = false
    private var changed: [Int32] = []
    var hasChanges: Bool {
        flush()
        return !changed.isEmpty
    }

    /// Writes the cells changed since the last call (index, minute) and forgets them.
    func encodeChanges(_ w: inout ByteWriter) {
        flush()
        let idx = Array(Set(changed)).sorted()
        changed.removeAll(keepingCapacity: true)
        w.u(UInt64(count))
        w.u(UInt64(idx.count))
        var prev: Int32 = 0
        for i in idx {
            w.u(UInt64(i - prev))
            w.i32(FirstSeenSketch.minute(cells[Int(i)]))
            prev = i
        }
    }

    /// Writes every cell that holds an identity (index gaps and minutes as varints).
    func encode(_ w: inout ByteWriter) {
        flush()
        var n = 0
        for i in 0..<count where cells[i] != 0 { n += 1 }
        w.u(UInt64(count))
        w.u(UInt64(n))
        var prev = 0
        for i in 0..<count where cells[i] != 0 {
            w.u(UInt64(i - prev))
            w.i32(FirstSeenSketch.minute(cells[i]))
            prev = i
        }
    }

    /// Merges cells written by `encode` or `encodeChanges` (the minimum of both: order does not matter).
    func merge(_ r: inout ByteReader) throws {
        flush()
        guard try r.u() == UInt64(count) else { throw StateCodecError("first-seen sketch of another size") }
        let n = try r.count()
        var i = 0
        for _ in 0..<n {
            i += Int(try r.u())
            guard i < count else { throw StateCodecError("first-seen cell out of range") }
            let v = FirstSeenSketch.stored(try r.i32())
            if v > cells[i] {
                if tracking { changed.append(Int32(i)) }
                if cells[i] == 0 { occupied += 1 }
                cells[i] = v
            }
        }
    }

    /// Forgets identities last first-seen before `minute` (they count as new again): keeps the
    /// table from filling up over weeks of runs.
    func expire(before minute: Int32) {
        flush()
        let limit = FirstSeenSketch.stored(minute)
        for i in 0..<count where cells[i] > limit { cells[i] = 0 }
        occupied = 0
        for i in 0..<count where cells[i] != 0 { occupied += 1 }
    }

    /// Applies the last pending note (queries do this themselves).
    func flush() {
        if pendingHash != 0 {
            apply(pendingHash, pendingMinute)
            pendingHash = 0
        }
    }

    /// Estimated first minute the identity was seen (`never` if not at all).
    func firstSeen(_ h: UInt64) -> Int32 {
        flush()
        let (a, b, c, d) = slots(h)
        return FirstSeenSketch.minute(min(min(cells[a], cells[b]), min(cells[c], cells[d])))
    }
}

/// Request latencies in logarithmic bins (about 19% wide) from 0.1 ms to ~100 s.
struct LatencyHistogram: Sendable {
    static let bins = 80
    private(set) var counts = [Int32](repeating: 0, count: LatencyHistogram.bins)
    private(set) var total = 0

    init() {}

    /// Bin of a latency: 4 bins per doubling, read straight from the float's exponent and its two
    /// top mantissa bits (edges at 1, 1.25, 1.5, 1.75 times a power of two, times 0.1 ms).
    @inline(__always) static func bin(_ ms: Double) -> Int {
        let x = ms * 10
        guard x > 1 else { return 0 }
        let bits = x.bitPattern
        let exponent = Int((bits >> 52) & 0x7FF) - 1023
        let quarter = Int((bits >> 50) & 3)
        return min(bins - 1, exponent * 4 + quarter + 1)
    }

    /// Upper edge of a bin in ms.
    static func upper(_ b: Int) -> Double {
        guard b > 0 else { return 0.1 }
        let k = b - 1
        return Double(sign: .plus, exponent: k / 4, significand: 1 + Double(k % 4 + 1) / 4) / 10
    }

    mutating func add(_ ms: Double) {
        counts[LatencyHistogram.bin(ms)] += 1
        total += 1
    }

    mutating func add(bin: Int, count: Int32) {
        counts[bin] += count
        total += Int(count)
    }

    mutating func merge(_ o: LatencyHistogram) {
        for i in 0..<LatencyHistogram.bins { counts[i] += o.counts[i] }
        total += o.total
    }

    /// The latency below which a fraction `q` of requests fall (bin upper edge).
    func quantile(_ q: Double) -> Double {
        guard total > 0 else { return 0 }
        let target = Int((Double(total) * q).rounded(.up))
        var acc = 0
        for b in 0..<LatencyHistogram.bins {
            acc += Int(counts[b])
            if acc >= target { return LatencyHistogram.upper(b) }
        }
        return LatencyHistogram.upper(LatencyHistogram.bins - 1)
    }

    /// Requests slower than `ms` (counting whole bins above it).
    func above(_ ms: Double) -> Int {
        let b0 = LatencyHistogram.bin(ms)
        var n = 0
        for b in (b0 + 1)..<LatencyHistogram.bins { n += Int(counts[b]) }
        return n
    }
}

/// Steady reuse in a busy shop: one account applying one code once or twice a minute never
/// stands out among a minute's heavy hitters when a thousand other (account, code) pairs share
/// the minute. A fixed table (memory bounded whatever the input: 2^17 slots, 2 MB) counts each
/// pair's redemptions since the start of its window. Slots come in sets of eight; a newcomer
/// takes an empty or stale slot, else the set's one-off from an earlier minute, so a flood of
/// one-off pairs never evicts a recurring one, and a shop whose regular customers fill the table
/// with pairs seen twice still has room for the next recurring pair most of the time.
final class PairRecurrence {
    /// Zeroed by `calloc`: pages are handed out when first touched, so a run pays for the slots
    /// it uses (key 0 = empty).
    private let keys: UnsafeMutablePointer<UInt64>
    private let starts: UnsafeMutablePointer<Int32>
    private let counts: UnsafeMutablePointer<Int32>
    private let mask: Int
    static let ways = 8

    init(slotsLog2: Int = 17) {
        let n = 1 << slotsLog2
        mask = n - 1
        guard let k = calloc(n, 8), let s = calloc(n, 4), let c = calloc(n, 4) else { fatalError("out of memory") }
        keys = k.bindMemory(to: UInt64.self, capacity: n)
        starts = s.bindMemory(to: Int32.self, capacity: n)
        counts = c.bindMemory(to: Int32.self, capacity: n)
    }

    deinit {
        free(keys)
        free(starts)
        free(counts)
    }

    /// Counts `key` (a mixed hash, never 0) at minute `m`; returns the pair's count within its
    /// window of `window` minutes (which starts at its first redemption; an earlier one arriving
    /// late is not counted), or 0 when the table had no room for it.
    func add(_ key: UInt64, minute m: Int32, window: Int32) -> Int32 {
        let first = Int(truncatingIfNeeded: key >> 32) & mask & ~(PairRecurrence.ways - 1)
        let set = first..<(first + PairRecurrence.ways)
        for j in set where keys[j] == key {
            // counted only inside [start, start + window): never more than one real window holds
            if m < starts[j] { return m < starts[j] &- window ? 0 : counts[j] }
            if m &- starts[j] >= window {
                starts[j] = m
                counts[j] = 0
            }
            counts[j] &+= 1
            return counts[j]
        }
        var victim = -1
        for j in set {
            if keys[j] == 0 || m &- starts[j] >= window || m < starts[j] &- window {
                victim = j
                break
            }
            if victim < 0 && counts[j] <= 1 && starts[j] < m { victim = j }
        }
        guard victim >= 0 else { return 0 }
        keys[victim] = key
        starts[victim] = m
        counts[victim] = 1
        return 1
    }
}

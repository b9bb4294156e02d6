#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Interns byte strings to small integer ids, with a hard cap on entries and bytes so that
/// memory stays bounded whatever an attacker sends. Past the cap, unseen values map to
/// `Symbol.overflow` and are counted in `overflowed`.
///
/// Open addressing over a power-of-two slot array; key bytes live in one flat arena. The tables
/// are raw buffers the table owns (no array to retain and release on every lookup: interning is
/// on the per-event path).
public final class SymbolTable {
    public let maxEntries: Int
    public let maxBytes: Int
    private var slots: UnsafeMutablePointer<Int32>  // -1 empty, else entry index
    private var slotCount: Int
    private var hashes: UnsafeMutablePointer<UInt64>  // per entry
    private var offsets: UnsafeMutablePointer<Int32>  // entry i = arena[offsets[i]..<offsets[i+1]]
    private var entryCapacity: Int
    private var entries = 0
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCount = 0
    private var arenaCapacity: Int
    private var mask: Int
    public private(set) var overflowed = 0
    /// Set while another thread may read the table as this one interns (the detector's thread in a
    /// pipelined batch resolves names when it folds minutes): every call then takes `lock`.
    public var shared = false
    private let lock: UnsafeMutablePointer<pthread_mutex_t>

    public init(maxEntries: Int = 1 << 16, maxBytes: Int = 16 << 20) {
        self.maxEntries = max(1, maxEntries)
        self.maxBytes = maxBytes
        slotCount = 64
        slots = .allocate(capacity: 64)
        slots.initialize(repeating: -1, count: 64)
        mask = 63
        entryCapacity = 32
        hashes = .allocate(capacity: 32)
        offsets = .allocate(capacity: 33)
        offsets[0] = 0
        arenaCapacity = 256
        arena = .allocate(capacity: 256)
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
        slots.deallocate()
        hashes.deallocate()
        offsets.deallocate()
        arena.deallocate()
    }

    public var count: Int {
        if shared { pthread_mutex_lock(lock) }
        defer { if shared { pthread_mutex_unlock(lock) } }
        return entries
    }

    /// The id of `p[0..<n]`, adding it when new and there is room (and `limit` entries, if
    /// given, are not yet used: callers reserve room for values that matter more).
    public func intern(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, limit: Int? = nil) -> Symbol {
        if shared { pthread_mutex_lock(lock) }
        defer { if shared { pthread_mutex_unlock(lock) } }
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = slots[i]
            if e < 0 { break }
            if hashes[Int(e)] == h && equal(Int(e), p, n) { return e }
            i = (i &+ 1) & mask
        }
        if entries >= min(maxEntries, limit ?? maxEntries) || arenaCount + n > maxBytes {
            overflowed += 1
            return .overflow
        }
        if entries == entryCapacity { growEntries() }
        if arenaCount + n > arenaCapacity { growArena(to: arenaCount + n) }
        let id = Int32(entries)
        hashes[entries] = h
        if n > 0 { (arena + arenaCount).update(from: p, count: n) }
        arenaCount += n
        entries += 1
        offsets[entries] = Int32(arenaCount)
        slots[i] = id
        if entries * 2 > slotCount { grow() }
        return id
    }

    public func intern(_ p: UnsafePointer<UInt8>, _ n: Int) -> Symbol {
        intern(p, n, hash: ByteHash.hash(p, n))
    }

    public func intern(_ s: String) -> Symbol {
        var bytes = Array(s.utf8)
        return bytes.withUnsafeMutableBufferPointer { b in
            intern(UnsafePointer(b.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!), b.count)
        }
    }

    /// Lookup without inserting.
    public func find(_ bytes: [UInt8]) -> Symbol {
        if shared { pthread_mutex_lock(lock) }
        defer { if shared { pthread_mutex_unlock(lock) } }
        return bytes.withUnsafeBufferPointer { b -> Symbol in
            let p = b.baseAddress ?? UnsafePointer(bitPattern: 1)!
            let h = ByteHash.hash(p, b.count)
            var i = Int(truncatingIfNeeded: h) & mask
            while true {
                let e = slots[i]
                if e < 0 { return .none }
                if hashes[Int(e)] == h && equal(Int(e), p, b.count) { return e }
                i = (i + 1) & mask
            }
        }
    }

    public func bytes(_ id: Symbol) -> [UInt8] {
        if shared { pthread_mutex_lock(lock) }
        defer { if shared { pthread_mutex_unlock(lock) } }
        guard id >= 0, Int(id) < entries else { return [] }
        let s = Int(offsets[Int(id)])
        return Array(UnsafeBufferPointer(start: arena + s, count: Int(offsets[Int(id) + 1]) - s))
    }

    /// The value as a String. Invalid UTF-8 is shown losslessly, every byte outside ASCII as
    /// `\xNN`: repaired with U+FFFD, two different codes read the same (`OL\u{FFFD}\u{FFFD}`) and one
    /// hid the other's finding under the cooldown.
    public func string(_ id: Symbol) -> String {
        let b = bytes(id)
        if let s = String(validating: b, as: UTF8.self) { return s }
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for c in b {
            if c < 0x80 {
                out.append(c)
            } else {
                out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(c >> 4)], hex[Int(c & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    private func equal(_ e: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let s = Int(offsets[e])
        let t = Int(offsets[e + 1])
        if t - s != n { return false }
        if n == 0 { return true }
        return memcmp(arena + s, p, n) == 0
    }

    private func growEntries() {
        let c = entryCapacity * 2
        let h = UnsafeMutablePointer<UInt64>.allocate(capacity: c)
        h.update(from: hashes, count: entries)
        hashes.deallocate()
        hashes = h
        let o = UnsafeMutablePointer<Int32>.allocate(capacity: c + 1)
        o.update(from: offsets, count: entries + 1)
        offsets.deallocate()
        offsets = o
        entryCapacity = c
    }

    private func growArena(to need: Int) {
        var c = arenaCapacity * 2
        while c < need { c *= 2 }
        let a = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        a.update(from: arena, count: arenaCount)
        arena.deallocate()
        arena = a
        arenaCapacity = c
    }

    private func grow() {
        let newCount = slotCount * 2
        let ns = UnsafeMutablePointer<Int32>.allocate(capacity: newCount)
        ns.initialize(repeating: -1, count: newCount)
        let m = newCount - 1
        for idx in 0..<entries {
            var i = Int(truncatingIfNeeded: hashes[idx]) & m
            while ns[i] >= 0 { i = (i + 1) & m }
            ns[i] = Int32(idx)
        }
        slots.deallocate()
        slots = ns
        slotCount = newCount
        mask = m
    }
}

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
/// Open addressing over a power-of-two slot array; key bytes live in one flat arena.
public final class SymbolTable {
    public let maxEntries: Int
    public let maxBytes: Int
    private var slots: [Int32]  // -1 empty, else entry index
    private var hashes: [UInt64] = []  // per entry
    private var offsets: [Int32] = [0]  // entry i = arena[offsets[i]..<offsets[i+1]]
    private var arena: [UInt8] = []
    private var mask: Int
    public private(set) var overflowed = 0

    public init(maxEntries: Int = 1 << 16, maxBytes: Int = 16 << 20) {
        self.maxEntries = max(1, maxEntries)
        self.maxBytes = maxBytes
        slots = [Int32](repeating: -1, count: 64)
        mask = 63
    }

    public var count: Int { hashes.count }

    /// The id of `p[0..<n]`, adding it when new and there is room (and `limit` entries, if
    /// given, are not yet used: callers reserve room for values that matter more).
    public func intern(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, limit: Int? = nil) -> Symbol {
        var i = Int(truncatingIfNeeded: h) & mask
        let found: Symbol? = slots.withUnsafeBufferPointer { sl in
            hashes.withUnsafeBufferPointer { hs in
                while true {
                    let e = sl[i]
                    if e < 0 { return nil }
                    if hs[Int(e)] == h && equal(Int(e), p, n) { return e }
                    i = (i &+ 1) & mask
                }
            }
        }
        if let found { return found }
        if hashes.count >= min(maxEntries, limit ?? maxEntries) || arena.count + n > maxBytes {
            overflowed += 1
            return .overflow
        }
        let id = Int32(hashes.count)
        hashes.append(h)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        offsets.append(Int32(arena.count))
        slots[i] = id
        if hashes.count * 2 > slots.count { grow() }
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
        bytes.withUnsafeBufferPointer { b -> Symbol in
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
        guard id >= 0, Int(id) < hashes.count else { return [] }
        return Array(arena[Int(offsets[Int(id)])..<Int(offsets[Int(id) + 1])])
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

    private func equal(_ e: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let s = Int(offsets[e])
        let t = Int(offsets[e + 1])
        if t - s != n { return false }
        if n == 0 { return true }
        return arena.withUnsafeBufferPointer { a in memcmp(a.baseAddress! + s, p, n) == 0 }
    }

    private func grow() {
        let newCount = slots.count * 2
        var ns = [Int32](repeating: -1, count: newCount)
        let m = newCount - 1
        for (idx, h) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: h) & m
            while ns[i] >= 0 { i = (i + 1) & m }
            ns[i] = Int32(idx)
        }
        slots = ns
        mask = m
    }
}

/// Finding delimiters eight bytes at a time in a 64-bit word ("SIMD within a register").
/// For a word `x` and a byte `c`, `(x ^ c*0x01..) - 0x01.. & ~(x ^ c*0x01..) & 0x80..` flags the
/// bytes equal to `c`; the lowest flag is always exact, which is all a "find first" needs.
@usableFromInline
enum SWAR {
    @usableFromInline static let ones: UInt64 = 0x0101_0101_0101_0101
    @usableFromInline static let highs: UInt64 = 0x8080_8080_8080_8080

    @inline(__always) static func match(_ x: UInt64, _ c: UInt8) -> UInt64 {
        let t = x ^ (ones &* UInt64(c))
        return (t &- ones) & ~t & highs
    }

    /// Index of the first byte in `p[i..<n]` equal to `a` or `b`, or `n`.
    @inline(__always)
    static func find(_ p: UnsafePointer<UInt8>, _ i0: Int, _ n: Int, _ a: UInt8, _ b: UInt8) -> Int {
        var i = i0
        let raw = UnsafeRawPointer(p)
        while i &+ 8 <= n {
            let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let m = match(x, a) | match(x, b)
            if m != 0 { return i &+ (m.trailingZeroBitCount >> 3) }
            i &+= 8
        }
        while i < n {
            let c = p[i]
            if c == a || c == b { return i }
            i &+= 1
        }
        return n
    }

    /// Index of the first byte in `p[i..<n]` equal to one of `a b c d`, or `n`.
    @inline(__always)
    static func find(_ p: UnsafePointer<UInt8>, _ i0: Int, _ n: Int, _ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8)
        -> Int
    {
        var i = i0
        let raw = UnsafeRawPointer(p)
        while i &+ 8 <= n {
            let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let m = match(x, a) | match(x, b) | match(x, c) | match(x, d)
            if m != 0 { return i &+ (m.trailingZeroBitCount >> 3) }
            i &+= 8
        }
        while i < n {
            let e = p[i]
            if e == a || e == b || e == c || e == d { return i }
            i &+= 1
        }
        return n
    }
}

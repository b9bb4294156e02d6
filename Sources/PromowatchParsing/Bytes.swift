import CByteSearch
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small byte-level helpers shared by the scanners. All work on raw pointers owned by the caller.
@usableFromInline
enum Bytes {
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b &- 0x41) < 26 ? b | 0x20 : b }
    @inline(__always) static func upper(_ b: UInt8) -> UInt8 { (b &- 0x61) < 26 ? b & 0xDF : b }

    /// Index of `byte` in `p[from..<end]`, or nil.
    @inline(__always)
    static func find(_ byte: UInt8, _ p: UnsafePointer<UInt8>, from: Int, end: Int) -> Int? {
        guard from < end else { return nil }
        guard let r = memchr(p + from, Int32(byte), end - from) else { return nil }
        return UnsafePointer<UInt8>(r.assumingMemoryBound(to: UInt8.self)) - p
    }

    /// Copies `p[0..<n]` to `out` without its terminal escape sequences and returns the length
    /// written (at most `n`). Loggers that colour their output (logrus with `ForceColors`,
    /// zerolog's `ConsoleWriter`, zap's colour level encoders) wrap levels, keys and messages in
    /// SGR sequences (`ESC [ 36 m ... ESC [ 0 m`); read as they are, `\u{1B}[36mcoupon\u{1B}[0m=X`
    /// is no key. A control sequence (`ESC [`, parameters and intermediates, one final byte
    /// `@`-`~`) and any other two-byte escape are dropped; an unfinished one at the end goes with it.
    static func stripEscapes(_ p: UnsafePointer<UInt8>, _ n: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var i = 0
        var o = 0
        while i < n {
            let c = p[i]
            if c != 0x1B {
                out[o] = c
                o &+= 1
                i &+= 1
                continue
            }
            guard i + 1 < n else { break }
            if p[i + 1] != UInt8(ascii: "[") {
                i &+= 2
                continue
            }
            var k = i + 2
            while k < n && p[k] >= 0x20 && p[k] < 0x40 { k &+= 1 }
            guard k < n else { break }
            i = p[k] >= 0x40 && p[k] <= 0x7E ? k + 1 : i + 1  // malformed: only the escape goes
        }
        return o
    }

    /// Offset of the first `needle` in `p[0..<n]` (plain substring search), or nil. Short haystacks
    /// (field values) use a first-byte scan: glibc's memmem sets up tables on every call.
    static func firstIndex(_ p: UnsafePointer<UInt8>, _ n: Int, _ needle: StaticString) -> Int? {
        let m = needle.utf8CodeUnitCount
        guard n >= m, m > 0 else { return m == 0 ? 0 : nil }
        if n > 256 {
            guard let r = promowatch_memmem(p, n, needle.utf8Start, m) else { return nil }
            return UnsafePointer<UInt8>(r.assumingMemoryBound(to: UInt8.self)) - p
        }
        let l = needle.utf8Start
        let first = l[0]
        var i = 0
        while i + m <= n {
            if p[i] == first && memcmp(p + i + 1, l + 1, m - 1) == 0 { return i }
            i += 1
        }
        return nil
    }

    /// Whether `p[0..<n]` contains `needle`.
    static func contains(_ p: UnsafePointer<UInt8>, _ n: Int, _ needle: StaticString) -> Bool {
        firstIndex(p, n, needle) != nil
    }

    /// Case-insensitive ASCII equality of `p[0..<n]` with a lower-case literal.
    static func equalsLower(_ p: UnsafePointer<UInt8>, _ n: Int, _ lit: StaticString) -> Bool {
        guard n == lit.utf8CodeUnitCount else { return false }
        let l = lit.utf8Start
        for i in 0..<n where lower(p[i]) != l[i] { return false }
        return true
    }

    /// Case-insensitive ASCII containment of a lower-case literal.
    static func containsLower(_ p: UnsafePointer<UInt8>, _ n: Int, _ lit: StaticString) -> Bool {
        let m = lit.utf8CodeUnitCount
        guard n >= m, m > 0 else { return m == 0 }
        let l = lit.utf8Start
        let first = l[0]
        var i = 0
        while i + m <= n {
            if lower(p[i]) == first {
                var k = 1
                while k < m && lower(p[i + k]) == l[k] { k += 1 }
                if k == m { return true }
            }
            i += 1
        }
        return false
    }

    static func equals(_ p: UnsafePointer<UInt8>, _ n: Int, _ lit: StaticString) -> Bool {
        n == lit.utf8CodeUnitCount && memcmp(p, lit.utf8Start, n) == 0
    }

    static func hasPrefix(_ p: UnsafePointer<UInt8>, _ n: Int, _ lit: StaticString) -> Bool {
        n >= lit.utf8CodeUnitCount && memcmp(p, lit.utf8Start, lit.utf8CodeUnitCount) == 0
    }

    static func hasSuffix(_ p: UnsafePointer<UInt8>, _ n: Int, _ lit: StaticString) -> Bool {
        let m = lit.utf8CodeUnitCount
        return n >= m && memcmp(p + (n - m), lit.utf8Start, m) == 0
    }

    /// Offset of the first `needle[0..<m]` in `p[0..<n]`, or nil.
    static func firstIndex(_ p: UnsafePointer<UInt8>, _ n: Int, _ needle: UnsafePointer<UInt8>, _ m: Int) -> Int? {
        guard n >= m, m > 0 else { return m == 0 ? 0 : nil }
        guard let r = promowatch_memmem(p, n, needle, m) else { return nil }
        return UnsafePointer<UInt8>(r.assumingMemoryBound(to: UInt8.self)) - p
    }
}

/// Decodes a JSON string body or a Go-quoted (logfmt) string body into `out`.
/// Handles `\" \\ \/ \b \f \n \r \t \uXXXX` (with surrogate pairs) and Go's `\xXX`.
/// Returns the number of bytes written; never writes more than `n` bytes
/// (an escape is always at least as long as what it decodes to).
@usableFromInline
func unescapeString(_ p: UnsafePointer<UInt8>, _ n: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
    var i = 0
    var o = 0
    while i < n {
        let b = p[i]
        if b != 0x5C || i + 1 >= n {
            out[o] = b
            o += 1
            i += 1
            continue
        }
        let e = p[i + 1]
        i += 2
        switch e {
        case UInt8(ascii: "n"):
            out[o] = 0x0A
            o += 1
        case UInt8(ascii: "t"):
            out[o] = 0x09
            o += 1
        case UInt8(ascii: "r"):
            out[o] = 0x0D
            o += 1
        case UInt8(ascii: "b"):
            out[o] = 0x08
            o += 1
        case UInt8(ascii: "f"):
            out[o] = 0x0C
            o += 1
        case UInt8(ascii: "x"):
            if i + 2 <= n, let h = hexValue(p + i, 2) {
                out[o] = UInt8(h)
                o += 1
                i += 2
            } else {
                out[o] = e
                o += 1
            }
        case UInt8(ascii: "u"):
            guard i + 4 <= n, var cp = hexValue(p + i, 4) else {
                out[o] = e
                o += 1
                break
            }
            i += 4
            if cp >= 0xD800 && cp < 0xDC00, i + 6 <= n, p[i] == 0x5C, p[i + 1] == UInt8(ascii: "u"),
                let lo = hexValue(p + i + 2, 4), lo >= 0xDC00 && lo < 0xE000
            {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                i += 6
            } else if cp >= 0xD800 && cp < 0xE000 {
                cp = 0xFFFD
            }
            o += encodeUTF8(cp, out + o)
        default:
            out[o] = e
            o += 1  // \" \\ \/ and anything unknown: the character itself
        }
    }
    return o
}

@inline(__always)
func hexValue(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32? {
    var v: UInt32 = 0
    for k in 0..<n {
        let c = p[k]
        let d: UInt32
        switch c {
        case 0x30...0x39: d = UInt32(c - 0x30)
        case 0x41...0x46: d = UInt32(c - 0x41 + 10)
        case 0x61...0x66: d = UInt32(c - 0x61 + 10)
        default: return nil
        }
        v = v << 4 | d
    }
    return v
}

@inline(__always)
func encodeUTF8(_ cp: UInt32, _ out: UnsafeMutablePointer<UInt8>) -> Int {
    switch cp {
    case 0..<0x80:
        out[0] = UInt8(cp)
        return 1
    case 0x80..<0x800:
        out[0] = UInt8(0xC0 | (cp >> 6))
        out[1] = UInt8(0x80 | (cp & 0x3F))
        return 2
    case 0x800..<0x10000:
        out[0] = UInt8(0xE0 | (cp >> 12))
        out[1] = UInt8(0x80 | ((cp >> 6) & 0x3F))
        out[2] = UInt8(0x80 | (cp & 0x3F))
        return 3
    default:
        out[0] = UInt8(0xF0 | (cp >> 18))
        out[1] = UInt8(0x80 | ((cp >> 12) & 0x3F))
        out[2] = UInt8(0x80 | ((cp >> 6) & 0x3F))
        out[3] = UInt8(0x80 | (cp & 0x3F))
        return 4
    }
}

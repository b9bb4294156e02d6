/// A fast, non-cryptographic 64-bit hash over bytes (multiply-xorshift on 8-byte words).
/// Stable across runs and platforms, so it can key sketches and fingerprints.
public enum ByteHash {
    @inlinable
    public static func hash(_ p: UnsafePointer<UInt8>, _ n: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> UInt64 {
        var h = seed ^ (UInt64(truncatingIfNeeded: n) &* 0xFF51_AFD7_ED55_8CCD)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = mix(h ^ w)
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h ^ w ^ 0xA5)
        }
        return finalize(h)
    }

    @inlinable static func mix(_ x: UInt64) -> UInt64 {
        let m = x.multipliedFullWidth(by: 0x9FB2_1C65_1E98_DF25)
        return m.high ^ m.low
    }

    @inlinable public static func finalize(_ x0: UInt64) -> UInt64 {
        var x = x0
        x ^= x >> 33
        x = x &* 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x = x &* 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return x == 0 ? 1 : x
    }

    public static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBufferPointer { hash($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
    }
}

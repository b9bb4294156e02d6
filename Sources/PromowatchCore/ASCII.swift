/// ASCII case for names that come from logs and configuration (coupon codes, provider names):
/// only `a`-`z` change, every other byte is kept, so no locale or Unicode rule applies.
public enum ASCII {
    public static func uppercased(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 32 : $0 }, as: UTF8.self)
    }

    public static func lowercased(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }, as: UTF8.self)
    }

    @inlinable public static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }

    @inlinable public static func isLowerAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A)
    }
}

/// Coupon codes come from users: only `[A-Z0-9_-]{1,64}` after upper-casing may be written
/// anywhere (ConfigMap, SQL, terminal). Anything else is reported, never written.
public enum CouponCode {
    public static func sanitized(_ raw: String) -> String? {
        let up = ASCII.uppercased(raw)
        guard (1...64).contains(up.utf8.count) else { return nil }
        for b in up.utf8 where !((b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2D) {
            return nil
        }
        return up
    }
}

/// Numbers in findings' one-line summaries.
public enum NumberText {
    /// Two decimals below 10, whole numbers above: `0.06`, `3.76`, `118`.
    /// Any value prints: NaN, infinities and magnitudes beyond `Int` as Swift prints a Double.
    public static func short(_ v: Double) -> String {
        v < 10 || !(v < 9.0e18) ? String((v * 100).rounded() / 100) : String(Int(v.rounded()))
    }

    /// A share as a whole percentage: `54%`.
    public static func percent(_ v: Double) -> String {
        let p = (v * 100).rounded()
        return abs(p) < 9.0e18 ? "\(Int(p))%" : "\(p)%"
    }
}

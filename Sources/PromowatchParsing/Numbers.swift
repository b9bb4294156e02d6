/// Number, duration and timestamp parsing on bytes (contract section 2 and 3).
public enum ByteNumbers {
    private static let pow10: [Double] = (0...22).map {
        var v = 1.0
        for _ in 0..<$0 { v *= 10 }
        return v
    }

    /// A decimal number (`-12`, `3.50`, `1e3`), optionally surrounded by spaces. nil when not a number.
    public static func parseDouble(_ p: UnsafePointer<UInt8>, _ n0: Int) -> Double? {
        var i = 0
        var n = n0
        while i < n && Bytes.isSpace(p[i]) { i += 1 }
        while n > i && Bytes.isSpace(p[n - 1]) { n -= 1 }
        guard i < n else { return nil }
        var neg = false
        if p[i] == UInt8(ascii: "-") {
            neg = true
            i += 1
        } else if p[i] == UInt8(ascii: "+") {
            i += 1
        }
        var mant: UInt64 = 0
        var digits = 0
        var exp10 = 0
        var sawDigit = false
        while i < n && Bytes.isDigit(p[i]) {
            sawDigit = true
            if digits < 19 {
                mant = mant &* 10 &+ UInt64(p[i] - 0x30)
                if mant != 0 { digits += 1 }
            } else {
                exp10 += 1
            }
            i += 1
        }
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            while i < n && Bytes.isDigit(p[i]) {
                sawDigit = true
                if digits < 19 {
                    mant = mant &* 10 &+ UInt64(p[i] - 0x30)
                    if mant != 0 { digits += 1 }
                    exp10 -= 1
                }
                i += 1
            }
        }
        guard sawDigit else { return nil }
        if i < n && (p[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            var eneg = false
            if i < n && (p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+")) {
                eneg = p[i] == UInt8(ascii: "-")
                i += 1
            }
            var e = 0
            var sawE = false
            while i < n && Bytes.isDigit(p[i]) {
                sawE = true
                if e < 10000 { e = e * 10 + Int(p[i] - 0x30) }
                i += 1
            }
            guard sawE else { return nil }
            exp10 += eneg ? -e : e
        }
        guard i == n else { return nil }
        var v = Double(mant)
        if exp10 < 0 {
            var e = -exp10
            while e > 22 {
                v /= 1e22
                e -= 22
            }
            v /= pow10[e]
        } else if exp10 > 0 {
            var e = exp10
            while e > 22 {
                v *= 1e22
                e -= 22
            }
            v *= pow10[e]
        }
        return neg ? -v : v
    }

    /// A Go duration (`1.2s`, `350ms`, `1m30s`, `250us`, `1h`) in milliseconds.
    /// A bare number is taken as seconds (Kratos logs `latency=0.0012`).
    public static func parseDurationMs(_ p: UnsafePointer<UInt8>, _ n0: Int) -> Double? {
        var i = 0
        var n = n0
        while i < n && Bytes.isSpace(p[i]) { i += 1 }
        while n > i && Bytes.isSpace(p[n - 1]) { n -= 1 }
        guard i < n else { return nil }
        if let plain = parseDouble(p + i, n - i) { return plain * 1000 }
        var total = 0.0
        var any = false
        while i < n {
            let start = i
            while i < n && (Bytes.isDigit(p[i]) || p[i] == UInt8(ascii: ".")) { i += 1 }
            guard i > start, let v = parseDouble(p + start, i - start) else { return nil }
            let us = i
            while i < n && !(Bytes.isDigit(p[i]) || p[i] == UInt8(ascii: ".")) { i += 1 }
            let unit = UnsafeBufferPointer(start: p + us, count: i - us)
            let scale: Double
            switch unit.count {
            case 1:
                switch unit[0] {
                case UInt8(ascii: "h"): scale = 3_600_000
                case UInt8(ascii: "m"): scale = 60_000
                case UInt8(ascii: "s"): scale = 1000
                default: return nil
                }
            case 2:
                if unit[0] == UInt8(ascii: "m") && unit[1] == UInt8(ascii: "s") {
                    scale = 1
                } else if unit[0] == UInt8(ascii: "u") && unit[1] == UInt8(ascii: "s") {
                    scale = 0.001
                } else if unit[0] == UInt8(ascii: "n") && unit[1] == UInt8(ascii: "s") {
                    scale = 0.000001
                } else if unit[0] == 0xC2 && unit[1] == 0xB5 {
                    return nil
                } else {
                    return nil
                }
            case 3:
                // µs (U+00B5 or U+03BC followed by s)
                if (unit[0] == 0xC2 && unit[1] == 0xB5) || (unit[0] == 0xCE && unit[1] == 0xBC),
                    unit[2] == UInt8(ascii: "s")
                {
                    scale = 0.001
                } else {
                    return nil
                }
            default: return nil
            }
            total += v * scale
            any = true
        }
        return any ? total : nil
    }

    /// A payload's time: RFC3339 (`2026-11-20T08:15:00.123456789Z`, 0-9 fraction digits, `Z` or
    /// `±hh:mm`), an epoch number (seconds; milliseconds when > 1e11, microseconds > 1e14,
    /// nanoseconds > 1e17), or a local-time layout Go services write with a layout of their own
    /// (`log.Timestamp("2006-01-02 15:04:05")` in go-kratos, zap's `TimeEncoderOfLayout`, logrus'
    /// `TimestampFormat`, `time.Time`'s `String()`): `2026-11-20 08:15:00`,
    /// `2026/11/20 08:15:00.123`, `2026-11-20 08:15:00.123 +0800 CST`. Nanoseconds since the epoch;
    /// `zoned` is false when the text names no offset: the nanoseconds then read it as UTC, and the
    /// caller prefers a framing time if it has one (the node's clock says which instant it was).
    public static func parseEventTime(_ p: UnsafePointer<UInt8>, _ n: Int) -> (nanos: Int64, zoned: Bool)? {
        if n >= 19, Bytes.isDigit(p[0]), p[4] == UInt8(ascii: "-") || p[4] == UInt8(ascii: "/") {
            return parseRFC3339(p, n, local: true).map { ($0.nanos, $0.zoned) }
        }
        guard let v = parseDouble(p, n), v.isFinite, v > 0 else { return nil }
        let seconds: Double
        if v > 1e17 {
            seconds = v / 1e9
        } else if v > 1e14 {
            seconds = v / 1e6
        } else if v > 1e11 {
            seconds = v / 1e3
        } else {
            seconds = v
        }
        guard seconds < 9.2e9 else { return nil }
        let whole = seconds.rounded(.down)
        return (Int64(whole) * 1_000_000_000 + Int64(((seconds - whole) * 1e9).rounded()), true)
    }

    /// Parses an RFC3339 timestamp at the start of `p`; returns its value and the bytes consumed.
    public static func parseRFC3339(_ p: UnsafePointer<UInt8>, _ n: Int) -> (nanos: Int64, length: Int)? {
        parseRFC3339(p, n, local: false).map { ($0.nanos, $0.length) }
    }

    /// `local`: also `/` between the date's parts (both the same), no zone (read as UTC, `zoned`
    /// false) and a numeric offset after one space (`time.Time.String()`); framings never get these.
    static func parseRFC3339(
        _ p: UnsafePointer<UInt8>, _ n: Int, local: Bool
    ) -> (nanos: Int64, length: Int, zoned: Bool)? {
        guard n >= 19 else { return nil }
        let dateSeparator = local && p[4] == UInt8(ascii: "/") ? UInt8(ascii: "/") : UInt8(ascii: "-")
        @inline(__always) func d2(_ i: Int) -> Int? {
            let a = p[i] &- 0x30
            let b = p[i + 1] &- 0x30
            return a < 10 && b < 10 ? Int(a) * 10 + Int(b) : nil
        }
        guard let y1 = d2(0), let y2 = d2(2), p[4] == dateSeparator, let mo = d2(5), p[7] == dateSeparator,
            let d = d2(8), p[10] == UInt8(ascii: "T") || p[10] == UInt8(ascii: "t") || p[10] == 0x20,
            let h = d2(11), p[13] == UInt8(ascii: ":"), let mi = d2(14), p[16] == UInt8(ascii: ":"), let s = d2(17)
        else { return nil }
        guard mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60 else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < n && (p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",")) {
            i += 1
            var digits = 0
            while i < n && Bytes.isDigit(p[i]) {
                if digits < 9 { frac = frac * 10 + Int64(p[i] - 0x30) }
                digits += 1
                i += 1
            }
            var k = digits
            while k < 9 {
                frac *= 10
                k += 1
            }
        }
        var offset = 0
        var zoned = true
        // `time.Time.String()`: `2026-11-20 08:15:00.5 +0800 CST`
        if local && i + 3 <= n && p[i] == 0x20 && (p[i + 1] == UInt8(ascii: "+") || p[i + 1] == UInt8(ascii: "-"))
            && Bytes.isDigit(p[i + 2])
        {
            i += 1
        }
        if i >= n
            || !(p[i] == UInt8(ascii: "Z") || p[i] == UInt8(ascii: "z") || p[i] == UInt8(ascii: "+")
                || p[i] == UInt8(ascii: "-"))
        {
            // a zone is required in a framing; a payload's local time names none
            guard local else { return nil }
            zoned = false
        } else if p[i] == UInt8(ascii: "Z") || p[i] == UInt8(ascii: "z") {
            i += 1
        } else if p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
            let sign = p[i] == UInt8(ascii: "-") ? -1 : 1
            guard i + 3 <= n, let oh = d2(i + 1) else { return nil }
            var om = 0
            if i + 6 <= n, p[i + 3] == UInt8(ascii: ":"), let m = d2(i + 4) {
                om = m
                i += 6
            } else if i + 5 <= n, let m = d2(i + 3) {
                om = m
                i += 5
            } else {
                i += 3
            }
            offset = sign * (oh * 3600 + om * 60)
        }
        let days = EventTimeBridge.days(year: y1 * 100 + y2, month: mo, day: d)
        // Years 0000-9999 fit in Int64 seconds; nanoseconds only between 1678 and 2262. A time
        // outside that is no timestamp (issue: one such line trapped on overflow).
        let secs = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + s) - Int64(offset)
        guard secs > -9_223_372_036 && secs < 9_223_372_035 else { return nil }
        return (secs * 1_000_000_000 + frac, i, zoned)
    }
}

import PromowatchCore
enum EventTimeBridge {
    @inline(__always) static func days(year: Int, month: Int, day: Int) -> Int {
        EventTime.daysFromCivil(year: year, month: month, day: day)
    }
}

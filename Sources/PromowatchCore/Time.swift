/// Civil-time helpers on nanoseconds since the Unix epoch (UTC). No Foundation, no I/O.
public enum EventTime {
    public static let nanosPerSecond: Int64 = 1_000_000_000

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    @inlinable
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// `2026-11-20T08:15:00Z` (whole seconds) or with `fractionDigits` digits.
    public static func rfc3339(_ nanos: Int64, fractionDigits: Int = 0) -> String {
        var secs = nanos / nanosPerSecond
        var frac = nanos % nanosPerSecond
        if frac < 0 {
            frac += nanosPerSecond
            secs -= 1
        }
        var days = Int(secs / 86400)
        var rem = Int(secs % 86400)
        if rem < 0 {
            rem += 86400
            days -= 1
        }
        let (y, m, d) = civilFromDays(days)
        var s = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T"
        s += pad(rem / 3600, 2) + ":" + pad(rem / 60 % 60, 2) + ":" + pad(rem % 60, 2)
        if fractionDigits > 0 {
            let digits = pad(Int(frac), 9)
            s += "." + digits.prefix(min(9, fractionDigits))
        }
        return s + "Z"
    }

    /// Parses what the Kubernetes API writes (`2026-11-20T08:15:00Z`, a fraction and a `±hh:mm`
    /// offset allowed) into ns since the epoch; nil for anything else. Log lines have their own
    /// byte-level parser in PromowatchParsing.
    public static func parseRFC3339(_ text: String) -> Int64? {
        let u = Array(text.utf8)
        func num(_ from: Int, _ n: Int) -> Int? {
            guard from + n <= u.count else { return nil }
            var v = 0
            for c in u[from..<from + n] {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard u.count >= 20, u[4] == 0x2D, u[7] == 0x2D, u[10] == 0x54 || u[10] == 0x74, u[13] == 0x3A, u[16] == 0x3A,
            let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2),
            let se = num(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61
        else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < u.count && u[i] == 0x2E {
            i += 1
            var digits = 0
            while i < u.count, u[i] >= 0x30 && u[i] <= 0x39 {
                if digits < 9 { frac = frac * 10 + Int64(u[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { frac *= 10 }
        }
        var offset = 0
        if i == u.count - 1 && (u[i] == 0x5A || u[i] == 0x7A) {
            offset = 0
        } else if i + 6 == u.count, u[i] == 0x2B || u[i] == 0x2D, u[i + 3] == 0x3A, let oh = num(i + 1, 2),
            let om = num(i + 4, 2)
        {
            offset = (oh * 60 + om) * 60 * (u[i] == 0x2B ? 1 : -1)
        } else {
            return nil
        }
        let secs =
            Int64(daysFromCivil(year: y, month: mo, day: d)) * 86400 + Int64(h * 3600 + mi * 60 + se)
            - Int64(offset)
        return secs * nanosPerSecond + frac
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

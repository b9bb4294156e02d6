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

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

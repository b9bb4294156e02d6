import PromowatchCore

/// Which providers are unhealthy at a given time, judged from findings: health is a function of
/// time, so a day-long batch never holds a morning's blip against an evening's fallback, nor
/// switches to a provider whose own failures only show a minute later.
public enum ProviderHealth {
    /// Providers (lower-case) with a provider-failure finding in the `holdMinutes` up to `t`.
    public static func failing(at t: Int64, in findings: [Finding], holdMinutes: Int) -> Set<String> {
        let hold = Int64(holdMinutes) * 60 * EventTime.nanosPerSecond
        return Set(
            findings.compactMap { f -> String? in
                guard f.category == .paymentProviderFailure, f.time <= t, t - f.time <= hold else { return nil }
                return f.subject.provider?.lowercased()
            })
    }
}

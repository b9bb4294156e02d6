import PromowatchCore

/// Per-coupon and per-provider counters kept in flat arrays indexed by interned id.
/// Bounded because the symbol tables behind the ids are bounded.
public struct Aggregates: Sendable {
    public var couponApplied: [Int] = []
    public var couponRejected: [Int] = []
    public var couponDiscount: [Double] = []
    public var untrackedCouponEvents = 0
    /// Payment events of providers beyond the provider table (`EventExtractor.Limits.providers`).
    public var untrackedProviderEvents = 0
    public var providerSucceeded: [Int] = []
    public var providerDeclined: [Int] = []
    public var providerFailures: [Int] = []
    /// Whether the run totals below are kept (only a run that serves or writes metrics needs
    /// them: the per-event path does no more than it must).
    public var runTotals = false
    /// Discount of every applied promotion (ten-thousandths of a currency unit), tracked code or not.
    public var discountTotalE4: Int64 = 0
    /// Request latencies (seconds) in `LatencyTotals.bounds` buckets, for the metrics endpoint.
    public var latency = LatencyTotals()

    public init() {}

    @inline(__always)
    private static func ensure<T>(_ a: inout [T], _ i: Int, _ zero: T) {
        if i >= a.count { a.append(contentsOf: repeatElement(zero, count: i + 1 - a.count)) }
    }

    @inline(__always)
    static func addDiscount(_ total: inout Int64, _ d: Double) {
        if d.isFinite && abs(d) < 1e12 { total &+= Int64((d * 1e4).rounded()) }
    }

    @inline(__always)
    public mutating func add(_ e: Event) {
        if !e.kinds.isDisjoint(with: .promotion) {
            if e.coupon >= 0 {
                let i = Int(e.coupon)
                Aggregates.ensure(&couponApplied, i, 0)
                Aggregates.ensure(&couponRejected, i, 0)
                Aggregates.ensure(&couponDiscount, i, 0)
                if e.kinds.contains(.promotionApplied) {
                    if runTotals { Aggregates.addDiscount(&discountTotalE4, e.discount) }
                    couponApplied[i] += 1
                    if e.discount.isFinite { couponDiscount[i] += e.discount }
                } else {
                    couponRejected[i] += 1
                }
            } else {
                if e.coupon == .overflow { untrackedCouponEvents += 1 }
                if runTotals && e.kinds.contains(.promotionApplied) {
                    Aggregates.addDiscount(&discountTotalE4, e.discount)
                }
            }
        }
        if runTotals && e.kinds.contains(.request) && e.latencyMs.isFinite && e.latencyMs >= 0 {
            latency.add(e.latencyMs / 1000)
        }
        if !e.kinds.isDisjoint(with: .payment), e.provider >= 0 {
            let i = Int(e.provider)
            Aggregates.ensure(&providerSucceeded, i, 0)
            Aggregates.ensure(&providerDeclined, i, 0)
            Aggregates.ensure(&providerFailures, i, 0)
            if e.kinds.contains(.paymentSucceeded) { providerSucceeded[i] += 1 }
            if e.kinds.contains(.paymentDeclined) { providerDeclined[i] += 1 }
            if e.kinds.contains(.paymentProviderFailure) { providerFailures[i] += 1 }
        } else if !e.kinds.isDisjoint(with: .payment), e.provider == .overflow {
            untrackedProviderEvents += 1
        }
    }
}

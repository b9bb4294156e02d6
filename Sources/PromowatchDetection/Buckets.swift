import PromowatchCore

/// Identity kinds kept apart in the per-identity tables.
enum IdentityKind: UInt8, Sendable { case user = 1, ip = 2 }

@inline(__always) func identityKey(_ h: UInt64, _ kind: IdentityKind) -> UInt64 {
    h ^ (UInt64(kind.rawValue) &* 0xA24B_AED4_963E_E407)
}

/// Key of an (identity, coupon) pair. Built from the coupon's hash, not its id: ids are local to a
/// process, while keys travel in snapshots and partial aggregates.
@inline(__always) func pairKey(_ h: UInt64, _ kind: IdentityKind, couponHash: UInt64) -> UInt64 {
    ByteHash.finalize(identityKey(h, kind) ^ (couponHash &* 0x9FB2_1C65_1E98_DF25))
}

struct CouponStat: Sendable, Equatable {
    var applied: Int32 = 0
    var discount = 0.0
    /// Discount and subtotal summed over redemptions that carry both (for the discount share).
    var sharedDiscount = 0.0
    var sharedSubtotal = 0.0
    var sharedCount: Int32 = 0
    /// Redemptions with discount >= subtotal > 0.
    var stacked: Int32 = 0
    /// Accounts (user, else ip) that redeemed it: a sample of up to `CouponTable.accountsK`.
    var accounts = BottomK(k: CouponTable.accountsK)

    /// Returns the redemptions counted so far.
    @discardableResult
    mutating func add(_ e: Event, account: UInt64) -> Int32 {
        applied +~= 1
        if e.discount.isFinite {
            discount += e.discount
            if e.subtotal.isFinite && e.subtotal > 0 {
                sharedDiscount += e.discount
                sharedSubtotal += e.subtotal
                sharedCount +~= 1
                if e.discount >= e.subtotal { stacked +~= 1 }
            }
        }
        if account != 0 { accounts.insert(account) }
        return applied
    }

    mutating func merge(_ o: CouponStat) {
        applied +~= o.applied
        discount += o.discount
        sharedDiscount += o.sharedDiscount
        sharedSubtotal += o.sharedSubtotal
        sharedCount +~= o.sharedCount
        stacked +~= o.stacked
        accounts.merge(o.accounts)
    }
}

struct ProviderStat: Sendable {
    var attempts: Int32 = 0
    var succeeded: Int32 = 0
    var declined: Int32 = 0
    var failures: Int32 = 0
}

struct ReusePayload: Sendable {
    var kind: IdentityKind
    var identity: UInt64
    var coupon: Int32
    /// The identity as logged (kept with the counter: bounded like the table).
    var name: String?
    /// For an ip: the accounts behind its redemptions (many = a shared ip, not one person).
    var accounts = BottomK(k: 4)
}

struct IdentityPayload: Sendable {
    var kind: IdentityKind
    var identity: UInt64
    /// Distinct codes tried (enumeration) or cards declined (card testing).
    var distinct: BottomK
    var small: Int32 = 0
    var name: String?
}

extension ReusePayload {
    /// Adds the same pair's payload from another minute or instance.
    mutating func absorb(_ o: ReusePayload) {
        accounts.merge(o.accounts)
        if name == nil { name = o.name }
    }
}

extension IdentityPayload {
    /// Adds the same identity's payload from another minute or instance.
    mutating func absorb(_ o: IdentityPayload) {
        distinct.merge(o.distinct)
        small +~= o.small
        if name == nil { name = o.name }
    }
}

/// Everything detection needs about one minute of event time. Sums, minimums and bounded
/// sketches only, so the order in which events arrive does not change it (apart from which
/// keys a full space-saving table keeps, which only lowers reported counts).
/// Which findings an example line can illustrate.
enum ExampleKey: Hashable {
    case coupon(Int32), provider(Int32), rejected, declined, compensation, timeout, dbSaturation
}

final class MinuteBucket {
    /// The first lines of each kind this minute (two per key, 64 in all), sanitised; dropped once
    /// the minute is folded into the baseline, so only the windows' minutes hold any.
    var examples: [(key: ExampleKey, line: String)] = []
    static let examplesPerKey = 2
    static let examplesPerMinute = 64

    var applied: Int32 = 0
    var rejected: Int32 = 0
    var coupons = CouponTable()
    var reuse = TopK<ReusePayload>(capacity: 64)
    /// (account, code) pairs whose count in their window reached the reuse threshold in this
    /// minute (`PairRecurrence`): steady reuse the minute's heavy hitters cannot show.
    var steadyReuse: [UInt64: (count: Int32, p: ReusePayload)] = [:]
    static let steadyReuseCapacity = 256
    var rejectors = TopK<IdentityPayload>(capacity: 32)
    var decliners = TopK<IdentityPayload>(capacity: 32)
    var providers: [Int32: ProviderStat] = [:]
    /// Accounts (user, else ip) behind each provider's provider-side failures, and failures without
    /// one: an outage fails many customers, an attack the provider answers with errors or a
    /// client's retry loop fails a few. Carried in a section after the rest of snapshots and
    /// partial aggregates: a minute decoded from a blob without it has `failingAccountsKnown`
    /// false, and a window holding one judges without it.
    var failingAccounts: [Int32: BottomK] = [:]
    var failingUnidentified: [Int32: Int32] = [:]
    /// The same for every attempt: where the logged account does not tell customers apart (every
    /// payment behind one proxy's ip), failures from "one account" say nothing.
    var attemptAccounts: [Int32: BottomK] = [:]
    var attemptsUnidentified: [Int32: Int32] = [:]
    var failingAccountsKnown = true
    static let failingAccountsK = 16
    var attempts: Int32 = 0
    var declines: Int32 = 0
    var smallDeclines: Int32 = 0
    var declineCards = BottomK(k: 64)
    var compensation: Int32 = 0
    var requests: Int32 = 0
    var timeouts: Int32 = 0
    var dbSaturation: Int32 = 0
    var latency = LatencyHistogram()
    /// What detectors found anomalous in windows covering this minute: left out of the
    /// baseline when the minute is folded, so an incident does not teach it what is normal.
    var anomalous = Anomalies()

    init() {}

    /// What the minute holds beside its codes, in code entries (about 60 bytes each): its heavy
    /// hitters with their admission sketch, examples and samples come to some 15 KB in a busy
    /// shop. Counted so that a batch of a month of archives stays within its bound too: before, a
    /// month of a busy shop's minutes, a few codes each, was far under the bound in entries and
    /// held some 700 MB.
    static let entryWeight = 256
    /// What one event adds at most (a code's cell and a steady-reuse entry): the estimate for an
    /// event that arrived after its minute was folded (`Detector.minuteWeights`).
    static let lateEventWeight = 2

    /// Entries this minute counts against a batch's bound.
    var retainedEntries: Int { MinuteBucket.entryWeight + coupons.count + steadyReuse.count }

    /// Shop traffic this minute: what rates of rarer events are scaled by.
    var traffic: Int { Int(applied) + Int(rejected) + Int(attempts) + Int(requests) }
    /// Checkout traffic that promotions do not drive (payment attempts and requests): what a
    /// coupon's redemptions are scaled by, so one campaign's spike cannot skew the others.
    var reference: Int { Int(attempts) + Int(requests) }
}

struct Anomalies: Sendable {
    var coupons: Set<Int32> = []
    var providers: Set<Int32> = []
    var rejected = false
    var declines = false
    var compensation = false
    var timeouts = false
}

/// Redeemers sampled in folded minutes, and how many of them were new to the shop then.
struct NewTally: Sendable, Equatable {
    var sampled = 0.0
    var new = 0.0
    /// A share needs a sample: twenty redeemers say what is usual within about ten points.
    static let minSample = 20.0
    /// The usual share of new redeemers, when the sample says it.
    var share: Double? { sampled >= NewTally.minSample ? new / sampled : nil }
}

/// Cumulative totals of all minutes before the current baseline horizon.
struct PastTotals: Sendable {
    var minutes = 0
    var applied = 0.0
    var rejected = 0.0
    var couponApplied: [Int32: Double] = [:]
    /// Accounts that redeemed each coupon so far (a code that belonged to few accounts).
    var couponAccounts: [Int32: BottomK] = [:]
    /// Minute each coupon was first redeemed.
    var couponFirstMinute: [Int32: Int] = [:]
    /// The shop's redemptions (`applied`) folded before each coupon's first minute: what the shop
    /// redeemed while the code was watched is `applied` minus this (`Detector.shopShareBound`).
    /// Missing (a snapshot written before it existed): 0, the whole history.
    var couponAppliedBefore: [Int32: Double] = [:]
    /// How new each coupon's redeemers usually are (`Detector.learnRedeemers`): a welcome code's
    /// are new by design.
    var couponRedeemers: [Int32: NewTally] = [:]
    var reference = 0.0
    var couponSharedDiscount: [Int32: Double] = [:]
    var couponSharedSubtotal: [Int32: Double] = [:]
    var couponSharedCount: [Int32: Double] = [:]
    var providerAttempts: [Int32: Double] = [:]
    var providerFailures: [Int32: Double] = [:]
    var attempts = 0.0
    var declines = 0.0
    var compensation = 0.0
    var traffic = 0.0
    var requests = 0.0
    var timeouts = 0.0
    /// The same by hour of day (UTC), for what recurs daily.
    var hours = HourProfile()

    /// The share of its orders' subtotal coupon `c` gave as discount over the baseline (nil when no
    /// redemption carried both), with how many redemptions carried both.
    func discountShare(_ c: Int32) -> (count: Double, share: Double?) {
        let subtotal = couponSharedSubtotal[c] ?? 0
        return (couponSharedCount[c] ?? 0, subtotal > 0 ? (couponSharedDiscount[c] ?? 0) / subtotal : nil)
    }

    /// `wholeMinute` false: late events of a minute already folded (adds counts, not a minute).
    mutating func add(_ b: MinuteBucket, minute: Int, wholeMinute: Bool = true) {
        if wholeMinute { minutes += 1 }
        hours.add(b, minute: minute, wholeMinute: wholeMinute)
        for c in b.coupons.keys where couponFirstMinute[c].map({ minute < $0 }) ?? true {
            if couponFirstMinute[c] == nil { couponAppliedBefore[c] = applied }
            couponFirstMinute[c] = minute
        }
        let a = b.anomalous
        applied += Double(b.applied)
        if !a.rejected { rejected += Double(b.rejected) }
        for (c, s) in b.coupons where !a.coupons.contains(c) {
            couponApplied[c, default: 0] += Double(s.applied)
            couponAccounts[c, default: BottomK(k: 8)].merge(s.accounts)
            couponSharedDiscount[c, default: 0] += s.sharedDiscount
            couponSharedSubtotal[c, default: 0] += s.sharedSubtotal
            couponSharedCount[c, default: 0] += Double(s.sharedCount)
        }
        for (p, s) in b.providers where !a.providers.contains(p) {
            providerAttempts[p, default: 0] += Double(s.attempts)
            providerFailures[p, default: 0] += Double(s.failures)
        }
        attempts += Double(b.attempts)
        if !a.declines { declines += Double(b.declines) }
        if !a.compensation { compensation += Double(b.compensation) }
        traffic += Double(b.traffic)
        reference += Double(b.reference)
        requests += Double(b.requests)
        if !a.timeouts { timeouts += Double(b.timeouts) }
    }
}

/// Redemptions per coupon and attempts and failures per provider by hour of day (UTC), over every
/// minute folded into the baseline, incidents included: what recurs every day at the same hour
/// (a lunch-time code, a nightly provider maintenance) is learned after a few days, while a
/// one-off incident weighs 1/days in its hour. Used as a second expectation beside the all-day
/// one once an hour has `minDays` days of history; the larger of the two counts.
struct HourProfile: Sendable {
    static let minDays = 3.0
    /// Coupons with an hourly profile at most (the busiest keep theirs; memory stays bounded).
    static let maxCoupons = 4096
    var minutes = [Double](repeating: 0, count: 24)
    var reference = [Double](repeating: 0, count: 24)
    var applied = [Double](repeating: 0, count: 24)
    var coupons: [Int32: [Double]] = [:]
    var providerAttempts: [Int32: [Double]] = [:]
    var providerFailures: [Int32: [Double]] = [:]

    @inline(__always) static func hour(_ minute: Int) -> Int { ((minute % 1440 + 1440) % 1440) / 60 }

    mutating func add(_ b: MinuteBucket, minute: Int, wholeMinute: Bool) {
        let h = HourProfile.hour(minute)
        if wholeMinute { minutes[h] += 1 }
        reference[h] += Double(b.reference)
        applied[h] += Double(b.applied)
        for (c, s) in b.coupons where c >= 0 {
            if coupons[c] == nil && coupons.count >= HourProfile.maxCoupons { continue }
            coupons[c, default: [Double](repeating: 0, count: 24)][h] += Double(s.applied)
        }
        for (p, s) in b.providers where p >= 0 {
            providerAttempts[p, default: [Double](repeating: 0, count: 24)][h] += Double(s.attempts)
            providerFailures[p, default: [Double](repeating: 0, count: 24)][h] += Double(s.failures)
        }
    }

    /// Whether hour `h` has enough days of history to judge by.
    func known(_ h: Int) -> Bool { minutes[h] >= HourProfile.minDays * 60 }
}

import PromowatchCore

/// Detector state across processes: snapshots (a `cron` run continues where the previous one
/// stopped: baselines, warm-up, first-seen accounts, open episodes) and partial aggregates
/// (`watch --shared` instances send their minutes to the leader, which merges them).
extension Detector {
    static let snapshotMagic: [UInt8] = Array("PWS1".utf8)
    static let partialMagic: [UInt8] = Array("PWP1".utf8)
    /// Accounts not seen for this long count as new again (keeps the first-seen table from filling).
    static let firstSeenRetentionMinutes = 90 * 1440

    /// The detector's state as bytes, after folding minutes no window needs into the baseline.
    /// The newest minute is marked unevaluated, so the next run judges it again with the lines
    /// that arrive after this one stopped (episodes keep a finding from repeating).
    public func snapshot() -> [UInt8] {
        if lastMinute != Int.min {
            // fold only what every window that is still to be evaluated can do without
            if evaluatedThrough != Int.min {
                dropOld(before: min(lastMinute, evaluatedThrough) - longest - 1)
                pruneEpisodes(now: min(lastMinute, evaluatedThrough))
            }
            firstSeen.expire(before: Int32(clamping: lastMinute - Detector.firstSeenRetentionMinutes))
        }
        var names = NameWriter(coupons: coupons, providers: providers)
        var w = ByteWriter()
        w.int(firstMinute)
        w.int(lastMinute)
        w.i(watermark)
        w.int(pastUpTo)
        let newest = watermark == Int64.min ? evaluatedThrough : min(evaluatedThrough, Detector.minute(watermark) - 1)
        w.int(newest)
        w.u(UInt64(episodes.count))
        for (k, v) in episodes.sorted(by: { $0.key < $1.key }) {
            w.str(k)
            w.int(v)
        }
        past.encode(&w, &names)
        encodeBuckets(&w, &names)
        firstSeen.encode(&w)
        // added after the first release of this format: a snapshot without it still restores
        w.u(UInt64(past.couponRedeemers.count))
        for (k, v) in past.couponRedeemers.sorted(by: { $0.key < $1.key }) {
            names.coupon(k, &w)
            w.d(v.sampled)
            w.d(v.new)
        }
        encodeFailingAccounts(&w, &names)
        w.u(UInt64(past.couponAppliedBefore.count))
        for (k, v) in past.couponAppliedBefore.sorted(by: { $0.key < $1.key }) {
            names.coupon(k, &w)
            w.d(v)
        }
        return Detector.frame(Detector.snapshotMagic, names, w)
    }

    /// Continues from a snapshot. Only on a detector that has seen no events yet.
    public func restore(_ bytes: [UInt8]) throws {
        guard buckets.isEmpty, watermark == Int64.min else {
            throw StateCodecError("restore into a detector that has data")
        }
        var (r, names) = try open(bytes, Detector.snapshotMagic)
        firstMinute = try r.int()
        lastMinute = try r.int()
        watermark = try r.i()
        pastUpTo = try r.int()
        evaluatedThrough = try r.int()
        for _ in 0..<(try r.count()) {
            let k = try r.str()
            episodes[k] = try r.int()
        }
        past = try PastTotals.decode(&r, names)
        let decoded = try decodeBuckets(&r, names)
        try firstSeen.merge(&r)
        // sections added after the first release of this format: a snapshot without them restores
        if !r.atEnd {
            for _ in 0..<(try r.count()) {
                let k = try names.coupon(&r)
                let sampled = try r.d()
                let new = try r.d()
                guard sampled.isFinite, new.isFinite, sampled >= 0, new >= 0, new <= sampled else {
                    throw StateCodecError("redeemer tally out of range")
                }
                past.couponRedeemers[k, default: NewTally()].sampled += sampled
                past.couponRedeemers[k, default: NewTally()].new += new
            }
        }
        if !r.atEnd { try decodeFailingAccounts(&r, names, into: decoded) }
        if !r.atEnd {
            for _ in 0..<(try r.count()) {
                let k = try names.coupon(&r)
                let v = try r.d()
                guard v.isFinite, v >= 0, v <= past.applied else { throw StateCodecError("redemptions out of range") }
                past.couponAppliedBefore[k] = v
            }
        }
        guard r.atEnd else { throw StateCodecError("trailing bytes") }
        // the snapshot's own minutes: those before `pastUpTo` are in the baseline already (folded
        // while windows still read them), so they come back as buckets only. Merged as late
        // events, they were counted twice on every restore: two minutes of each cron run, a
        // baseline 40% high for a run every five minutes.
        for (m, b) in decoded { buckets[m] = b }
        try validate()
    }

    /// Minutes must be plausible and ordered, so no loop over them can run away.
    private func validate() throws {
        guard watermark != Int64.min else { return }
        let plausible = 0...(Int(Int32.max))
        guard plausible.contains(firstMinute), plausible.contains(lastMinute), firstMinute <= lastMinute,
            Detector.minute(watermark) == lastMinute,
            pastUpTo == Int.min || ((firstMinute - 1440)...(lastMinute + 1)).contains(pastUpTo),
            evaluatedThrough == Int.min || ((firstMinute - 1)...lastMinute).contains(evaluatedThrough),
            buckets.keys.allSatisfy({ (firstMinute...lastMinute).contains($0) })
        else { throw StateCodecError("inconsistent minutes") }
    }

    // MARK: partial aggregates (watch --shared)

    /// An instance that only aggregates for a leader: remembers first-seen changes to send.
    public func trackPartials() {
        firstSeen.tracking = true
        aggregatesOnly = true
    }

    /// The minutes aggregated since the last call, with first-seen changes and the newest event
    /// time, as bytes; the buckets are handed over (this detector keeps none). Nil when nothing new.
    public func takePartial() -> [UInt8]? {
        if buckets.isEmpty && !firstSeen.hasChanges { return nil }
        var names = NameWriter(coupons: coupons, providers: providers)
        var w = ByteWriter()
        w.i(watermark)
        encodeBuckets(&w, &names)
        firstSeen.encodeChanges(&w)
        encodeFailingAccounts(&w, &names)
        buckets.removeAll(keepingCapacity: true)
        lastBucket = nil
        retainedEntries = 0
        return Detector.frame(Detector.partialMagic, names, w)
    }

    /// Merges another instance's partial aggregates. Minutes already folded into the baseline are
    /// folded the same way (as late events are).
    public func absorb(_ bytes: [UInt8]) throws {
        var (r, names) = try open(bytes, Detector.partialMagic)
        let mark = try r.i()
        let decoded = try decodeBuckets(&r, names)
        try firstSeen.merge(&r)
        if !r.atEnd { try decodeFailingAccounts(&r, names, into: decoded) }
        guard r.atEnd else { throw StateCodecError("trailing bytes") }
        mergeBuckets(decoded)
        if mark > watermark { watermark = mark }
    }

    // MARK: helpers

    private func encodeBuckets(_ w: inout ByteWriter, _ names: inout NameWriter) {
        w.u(UInt64(buckets.count))
        for (m, b) in buckets.sorted(by: { $0.key < $1.key }) {
            w.int(m)
            b.encode(&w, &names)
        }
    }

    private func decodeBuckets(_ r: inout ByteReader, _ names: NameReader) throws -> [(Int, MinuteBucket)] {
        var out: [(Int, MinuteBucket)] = []
        for _ in 0..<(try r.count()) {
            let m = try r.int()
            out.append((m, try MinuteBucket.decode(&r, names)))
        }
        return out
    }

    /// The accounts behind each minute's provider failures (`MinuteBucket.failingAccounts`), for
    /// the minutes that know them; written after the rest, so blobs without it still read (their
    /// minutes judge without it).
    private func encodeFailingAccounts(_ w: inout ByteWriter, _ names: inout NameWriter) {
        let known = buckets.filter { $0.value.failingAccountsKnown }.sorted { $0.key < $1.key }
        w.u(UInt64(known.count))
        for (m, b) in known {
            w.int(m)
            let ps = Set(b.failingAccounts.keys).union(b.failingUnidentified.keys).union(b.attemptAccounts.keys)
                .union(b.attemptsUnidentified.keys).sorted()
            w.u(UInt64(ps.count))
            let none = BottomK(k: MinuteBucket.failingAccountsK)
            for p in ps {
                names.provider(p, &w)
                (b.failingAccounts[p] ?? none).encode(&w)
                w.i32(b.failingUnidentified[p] ?? 0)
                (b.attemptAccounts[p] ?? none).encode(&w)
                w.i32(b.attemptsUnidentified[p] ?? 0)
            }
        }
    }

    private func decodeFailingAccounts(
        _ r: inout ByteReader, _ names: NameReader, into decoded: [(Int, MinuteBucket)]
    ) throws {
        var byMinute: [Int: MinuteBucket] = [:]
        for (m, b) in decoded { byMinute[m] = b }
        for _ in 0..<(try r.count()) {
            let m = try r.int()
            guard let b = byMinute[m] else { throw StateCodecError("failing accounts of a minute not in the blob") }
            b.failingAccountsKnown = true
            for _ in 0..<(try r.count()) {
                let p = try names.provider(&r)
                let a = try BottomK.decode(&r)
                let n = try r.i32()
                let aa = try BottomK.decode(&r)
                let an = try r.i32()
                guard a.k == MinuteBucket.failingAccountsK, aa.k == a.k, n >= 0, an >= 0 else {
                    throw StateCodecError("bad failing accounts")
                }
                b.failingAccounts[p, default: BottomK(k: MinuteBucket.failingAccountsK)].merge(a)
                b.failingUnidentified[p, default: 0] +~= n
                b.attemptAccounts[p, default: BottomK(k: MinuteBucket.failingAccountsK)].merge(aa)
                b.attemptsUnidentified[p, default: 0] +~= an
            }
        }
    }

    private func mergeBuckets(_ decoded: [(Int, MinuteBucket)]) {
        for (m, b) in decoded {
            if pastUpTo != Int.min && m < pastUpTo {
                past.add(b, minute: m, wholeMinute: false)
            } else if let have = buckets[m] {
                have.merge(b)
            } else {
                buckets[m] = b
                if m < firstMinute { firstMinute = m }
                if m > lastMinute { lastMinute = m }
            }
        }
    }

    /// magic, name tables, body, then a 64-bit hash of all of it (a damaged blob is refused whole).
    private static func frame(_ magic: [UInt8], _ names: NameWriter, _ body: ByteWriter) -> [UInt8] {
        var head = ByteWriter()
        head.bytes = magic
        names.tables(&head)
        var out = head.bytes + body.bytes
        let h = out.withUnsafeBufferPointer { ByteHash.hash($0.baseAddress!, $0.count) }
        withUnsafeBytes(of: h.littleEndian) { out += $0 }
        return out
    }

    private func open(_ blob: [UInt8], _ magic: [UInt8]) throws -> (ByteReader, NameReader) {
        guard blob.count >= magic.count + 8, Array(blob[0..<magic.count]) == magic else {
            throw StateCodecError("not a promowatch state blob (or another version)")
        }
        let bytes = Array(blob[0..<(blob.count - 8)])
        var stored: UInt64 = 0
        for (i, b) in blob[(blob.count - 8)...].enumerated() { stored |= UInt64(b) << (8 * UInt64(i)) }
        guard bytes.withUnsafeBufferPointer({ ByteHash.hash($0.baseAddress!, $0.count) }) == stored else {
            throw StateCodecError("damaged (checksum mismatch)")
        }
        var r = ByteReader(bytes)
        r.at = magic.count
        let names = try NameReader(&r, couponTable: coupons, providerTable: providers)
        return (r, names)
    }
}

extension MinuteBucket {
    /// Adds another bucket of the same minute (partial aggregates from another instance).
    func merge(_ o: MinuteBucket) {
        applied +~= o.applied
        rejected +~= o.rejected
        attempts +~= o.attempts
        declines +~= o.declines
        smallDeclines +~= o.smallDeclines
        compensation +~= o.compensation
        requests +~= o.requests
        timeouts +~= o.timeouts
        dbSaturation +~= o.dbSaturation
        for (c, s) in o.coupons { coupons.merge(c, s) }
        reuse.merge(o.reuse) { $0.absorb($1) }
        rejectors.merge(o.rejectors) { $0.absorb($1) }
        decliners.merge(o.decliners) { $0.absorb($1) }
        for (p, s) in o.providers {
            var t = providers[p] ?? ProviderStat()
            t.attempts +~= s.attempts
            t.succeeded +~= s.succeeded
            t.declined +~= s.declined
            t.failures +~= s.failures
            providers[p] = t
        }
        if o.failingAccountsKnown {
            for (p, a) in o.failingAccounts {
                failingAccounts[p, default: BottomK(k: MinuteBucket.failingAccountsK)].merge(a)
            }
            for (p, n) in o.failingUnidentified { failingUnidentified[p, default: 0] +~= n }
            for (p, a) in o.attemptAccounts {
                attemptAccounts[p, default: BottomK(k: MinuteBucket.failingAccountsK)].merge(a)
            }
            for (p, n) in o.attemptsUnidentified { attemptsUnidentified[p, default: 0] +~= n }
        } else {
            failingAccountsKnown = false
        }
        declineCards.merge(o.declineCards)
        latency.merge(o.latency)
        anomalous.coupons.formUnion(o.anomalous.coupons)
        anomalous.providers.formUnion(o.anomalous.providers)
        anomalous.rejected = anomalous.rejected || o.anomalous.rejected
        anomalous.declines = anomalous.declines || o.anomalous.declines
        anomalous.compensation = anomalous.compensation || o.anomalous.compensation
        anomalous.timeouts = anomalous.timeouts || o.anomalous.timeouts
    }
}

extension Detector {
    /// The hour-of-day baseline as rows for the store (readable by people and SQL; the detector
    /// itself continues from `snapshot`). The `maxCoupons` busiest codes, and every provider.
    public func baselineRows(maxCoupons: Int = 100) -> [BaselineRow] {
        let h = past.hours
        var rows: [BaselineRow] = []
        let useReference = h.reference.reduce(0, +) > 0
        let busiest = h.coupons.sorted { ($0.value.reduce(0, +), $1.key) > ($1.value.reduce(0, +), $0.key) }.prefix(
            maxCoupons)
        for (c, counts) in busiest {
            let name = coupons.string(c)
            for hour in 0..<24 where h.minutes[hour] > 0 {
                rows.append(
                    BaselineRow(
                        scope: "coupon_redemptions", name: name, minuteOfDay: hour * 60, count: counts[hour],
                        traffic: useReference ? h.reference[hour] : h.applied[hour]))
            }
        }
        for (p, attempts) in h.providerAttempts {
            let name = providers.string(p)
            let failures = h.providerFailures[p] ?? []
            for hour in 0..<24 where h.minutes[hour] > 0 {
                rows.append(
                    BaselineRow(
                        scope: "provider_failures", name: name, minuteOfDay: hour * 60,
                        count: failures.isEmpty ? 0 : failures[hour], traffic: attempts[hour]))
            }
        }
        return rows.sorted { ($0.scope, $0.name, $0.minuteOfDay) < ($1.scope, $1.name, $1.minuteOfDay) }
    }
}

import PromowatchCore

// Ingest: each event goes into the bucket of its minute (a late one, in streaming, straight into
// the baseline).
extension Detector {
    func bucket(_ m: Int) -> MinuteBucket {
        if let (lm, lb) = lastBucket, lm == m { return lb }  // consecutive events share a minute
        if let b = buckets[m] {
            lastBucket = (m, b)
            return b
        }
        let b = MinuteBucket()
        buckets[m] = b
        retainedEntries += MinuteBucket.entryWeight
        lastBucket = (m, b)
        // a minute two behind a new one has (nearly) stopped filling: drop its growth slack
        if let old = buckets[m - 2] { old.coupons.compact() }
        if m < firstMinute { firstMinute = m }
        if m > lastMinute { lastMinute = m }
        return b
    }

    private func text(_ kind: IdentityKind, _ source: EventTextSource) -> String? {
        kind == .user ? source.userText() : source.ipText()
    }

    /// Moves the newest event time forward. A jump of more than an hour past it waits for a
    /// second line that agrees (within the hour): one line dated ahead, by a skewed clock or on
    /// purpose, would otherwise make every later real event late in `watch` (folded into the
    /// baseline, never reported).
    private func moveWatermark(_ t: Int64) {
        let hour = 60 * Detector.minuteNanos
        guard watermark != Int64.min, t - watermark > hour else {
            watermark = t
            pendingJump = nil
            return
        }
        if let p = pendingJump, abs(t - p) <= hour {
            watermark = max(min(t, p), watermark)
            pendingJump = nil
        } else {
            pendingJump = t
        }
    }

    /// Adds one event.
    public func add(_ e: Event, text: EventTextSource) {
        let k = e.kinds
        if k.isEmpty { return }
        if let slice = timeSlice, !slice.contains(e.time) { return }
        let m = Detector.minute(e.time)
        if e.time > watermark { moveWatermark(e.time) }
        // (streaming) an event older than the baseline horizon: its minute was folded into the
        // baseline already, so fold this event the same way through a throwaway bucket
        let late = m < pastUpTo
        let throwaway = late ? MinuteBucket() : nil
        // +0: `lastBucket` holds the minute's bucket (no retain and release per event)
        unowned(unsafe) let b: MinuteBucket
        if let t = throwaway {
            b = t
        } else if let (lm, r) = lastBucketRef, lm == m {
            b = r.takeUnretainedValue()
        } else {
            b = bucket(m)
        }
        if !k.isDisjoint(with: .promotion) { promotion(e, b, m, text) }
        if !k.isDisjoint(with: .payment) { payment(e, b, m, text) }
        if k.contains(.compensationFailure) {
            b.compensation +~= 1
            example(b, .compensation, b.compensation, text)
        }
        if k.contains(.request) {
            b.requests +~= 1
            if e.latencyMs.isFinite { b.latency.add(e.latencyMs) }
        }
        if k.contains(.timeout) {
            b.timeouts +~= 1
            example(b, .timeout, b.timeouts, text)
        }
        if k.contains(.dbSaturation) {
            b.dbSaturation +~= 1
            example(b, .dbSaturation, b.dbSaturation, text)
        }
        if late {
            withExtendedLifetime(throwaway) { past.add(b, minute: m, wholeMinute: false) }
            lateEvents += 1
            if !streaming { noteLateEvent(m) }
        } else if retainedEntries > config.input.batchMinuteEntries && !streaming && !aggregatesOnly {
            foldForBudget()
        }
    }

    /// Keeps the line as an example when it is among the first of its kind this minute.
    @inline(__always)
    private func example(_ b: MinuteBucket, _ key: ExampleKey, _ nth: Int32, _ text: EventTextSource) {
        guard nth <= MinuteBucket.examplesPerKey, b.examples.count < MinuteBucket.examplesPerMinute,
            let line = text.lineText()
        else { return }
        b.examples.append((key, line))
    }

    private func promotion(_ e: Event, _ b: MinuteBucket, _ m: Int, _ text: EventTextSource) {
        let account = e.userHash != 0 ? e.userHash : e.ipHash
        if e.kinds.contains(.promotionApplied) {
            b.applied +~= 1
            if account != 0 { firstSeen.note(account, minute: Int32(clamping: m)) }
            if e.coupon >= 0 {
                let cells = b.coupons.count
                let n = b.coupons.add(e.coupon, e, account: account)
                if b.coupons.count != cells { retainedEntries += 1 }
                example(b, .coupon(e.coupon), n, text)
                if e.userHash != 0 {
                    let key = pairKey(e.userHash, .user, couponHash: e.couponHash)
                    b.reuse.add(key) {
                        ReusePayload(kind: .user, identity: e.userHash, coupon: e.coupon, name: text.userText())
                    }
                    let cfg = config.couponReuse
                    let n = pairs.add(key, minute: Int32(clamping: m), window: Int32(clamping: cfg.windowMinutes))
                    if n >= cfg.minPerUser, (b.steadyReuse[key]?.count ?? 0) < n {
                        let known = b.steadyReuse[key] != nil
                        // a minute holds at most `steadyReuseCapacity` pairs: a flood of accounts
                        // each reusing a code (188,898 findings from 100,000 of them in 40 minutes)
                        // is reported by its first pairs and counted, not held pair by pair
                        if !known && b.steadyReuse.count >= MinuteBucket.steadyReuseCapacity {
                            untrackedReusePairs += 1
                        } else {
                            let name = b.steadyReuse[key]?.p.name ?? text.userText()
                            if !known { retainedEntries += 1 }
                            b.steadyReuse[key] = (
                                n, ReusePayload(kind: .user, identity: e.userHash, coupon: e.coupon, name: name)
                            )
                        }
                    }
                }
                if e.ipHash != 0 {
                    if let i = b.reuse.add(
                        pairKey(e.ipHash, .ip, couponHash: e.couponHash),
                        fresh: { ReusePayload(kind: .ip, identity: e.ipHash, coupon: e.coupon, name: text.ipText()) }),
                        e.userHash != 0
                    {
                        b.reuse.payloads[i].accounts.insert(e.userHash)
                    }
                }
            }
        } else {
            b.rejected +~= 1
            example(b, .rejected, b.rejected, text)
            rejecting(e.userHash, .user, e, b, text)
            rejecting(e.ipHash, .ip, e, b, text)
        }
    }

    private func rejecting(_ h: UInt64, _ kind: IdentityKind, _ e: Event, _ b: MinuteBucket, _ text: EventTextSource) {
        guard h != 0,
            let i = b.rejectors.add(
                identityKey(h, kind),
                fresh: {
                    IdentityPayload(kind: kind, identity: h, distinct: BottomK(k: 32), name: self.text(kind, text))
                })
        else { return }
        if e.couponHash != 0 { b.rejectors.payloads[i].distinct.insert(e.couponHash) }
    }

    private func declining(
        _ h: UInt64, _ kind: IdentityKind, _ small: Bool, _ e: Event, _ b: MinuteBucket, _ text: EventTextSource
    ) {
        guard h != 0,
            let i = b.decliners.add(
                identityKey(h, kind),
                fresh: {
                    IdentityPayload(kind: kind, identity: h, distinct: BottomK(k: 16), name: self.text(kind, text))
                })
        else { return }
        if e.cardHash != 0 { b.decliners.payloads[i].distinct.insert(e.cardHash) }
        if small { b.decliners.payloads[i].small +~= 1 }
    }

    private func payment(_ e: Event, _ b: MinuteBucket, _ m: Int, _ text: EventTextSource) {
        b.attempts +~= 1
        var s = b.providers[e.provider, default: ProviderStat()]
        s.attempts +~= 1
        let account = e.userHash != 0 ? e.userHash : e.ipHash
        if account != 0 {
            b.attemptAccounts[e.provider, default: BottomK(k: MinuteBucket.failingAccountsK)].insert(account)
        } else {
            b.attemptsUnidentified[e.provider, default: 0] +~= 1
        }
        if e.kinds.contains(.paymentSucceeded) {
            s.succeeded +~= 1
            if account != 0 { firstSeen.note(account, minute: Int32(clamping: m)) }
        } else if e.kinds.contains(.paymentDeclined) {
            s.declined +~= 1
            b.declines +~= 1
            example(b, .declined, b.declines, text)
            let small = e.amount.isFinite && e.amount <= config.cardTesting.smallAmount
            if small { b.smallDeclines +~= 1 }
            if e.cardHash != 0 { b.declineCards.insert(e.cardHash) }
            declining(e.userHash, .user, small, e, b, text)
            declining(e.ipHash, .ip, small, e, b, text)
        } else if e.kinds.contains(.paymentProviderFailure) {
            s.failures +~= 1
            example(b, .provider(e.provider), s.failures, text)
            if account != 0 {
                b.failingAccounts[e.provider, default: BottomK(k: MinuteBucket.failingAccountsK)].insert(account)
            } else {
                b.failingUnidentified[e.provider, default: 0] +~= 1
            }
        }
        b.providers[e.provider] = s
    }
}

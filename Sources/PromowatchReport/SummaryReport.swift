import PromowatchCore

/// Renders a `RunSummary`: the contract's JSON summary line, or a readable table.
public enum SummaryReport {
    /// One line: `{"summary": {...}}` with the contract's required keys first.
    /// `top` limits the coupon and provider lists (0 = all).
    public static func json(_ s: RunSummary, top: Int = 20) -> String {
        var o =
            "{\"summary\": {\"lines\": \(s.lines), \"bytes\": \(s.bytes), \"skipped_lines\": \(s.skippedLines), \"events\": {"
        o += s.events.named.map { "\"\($0.name)\": \($0.count)" }.joined(separator: ", ")
        o += "}, \"oversized_lines\": \(s.oversizedLines)"
        let coupons = top > 0 ? Array(s.coupons.prefix(top)) : s.coupons
        o +=
            ", \"coupons\": ["
            + coupons.map { c in
                "{\"coupon\": \(JSONString.quoted(c.code)), \"applied\": \(c.applied), \"rejected\": \(c.rejected), \"discount\": \(JSONText.number(c.discount))}"
            }.joined(separator: ", ") + "]"
        o += ", \"coupons_total\": \(s.coupons.count), \"untracked_coupon_events\": \(s.untrackedCouponEvents)"
        let providers = top > 0 ? Array(s.providers.prefix(top)) : s.providers
        o +=
            ", \"providers\": ["
            + providers.map { p in
                "{\"provider\": \(JSONString.quoted(p.provider)), \"succeeded\": \(p.succeeded), \"declined\": \(p.declined), \"provider_failures\": \(p.providerFailures)}"
            }.joined(separator: ", ") + "]"
        o += ", \"untracked_provider_events\": \(s.untrackedProviderEvents)"
        o += ", \"untracked_source_events\": \(s.untrackedSourceEvents)"
        o += ", \"input_errors\": [" + s.inputErrors.map(JSONString.quoted).joined(separator: ", ") + "]"
        o +=
            ", \"input_warnings\": \(s.inputWarnings), \"input_warning_samples\": ["
            + s.inputWarningSamples.map(JSONString.quoted).joined(separator: ", ") + "]"
        o += ", \"untrusted_timestamps\": \(s.untrustedTimestamps)"
        o += ", \"undated_events\": \(s.undatedEvents)"
        o += ", \"duplicate_promotion_lines\": \(s.duplicatePromotionLines)"
        o += ", \"late_events\": \(s.lateEvents)"
        o += ", \"untracked_reuse_pairs\": \(s.untrackedReusePairs)"
        if s.timeSlices > 0 { o += ", \"time_slices\": \(s.timeSlices)" }
        return o + "}}"
    }

    /// A table for people. Every value that came from the logs goes through `TerminalText.safe`.
    public static func text(_ s: RunSummary, top: Int = 20) -> String {
        var o = "promowatch summary\n"
        o += "  lines \(s.lines)   bytes \(s.bytes)   skipped \(s.skippedLines)"
        if s.oversizedLines > 0 { o += "   (oversized \(s.oversizedLines))" }
        o += "\n\n  events\n"
        for (name, count) in s.events.named { o += "    " + pad(name, 26) + String(count) + "\n" }
        if !s.coupons.isEmpty {
            o += "\n  coupons (top \(min(top > 0 ? top : s.coupons.count, s.coupons.count)) of \(s.coupons.count))\n"
            o += "    " + pad("coupon", 34) + pad("applied", 10) + pad("rejected", 10) + "discount\n"
            for c in top > 0 ? Array(s.coupons.prefix(top)) : s.coupons {
                o +=
                    "    " + pad(TerminalText.safe(c.code, maxLength: 32), 34) + pad(String(c.applied), 10)
                    + pad(String(c.rejected), 10) + JSONText.number(c.discount) + "\n"
            }
        }
        if s.untrackedCouponEvents > 0 {
            o += "    (\(s.untrackedCouponEvents) events for codes beyond the tracking limit)\n"
        }
        if !s.providers.isEmpty {
            o += "\n  payment providers\n"
            o += "    " + pad("provider", 18) + pad("succeeded", 11) + pad("declined", 10) + "provider failures\n"
            for p in s.providers {
                o +=
                    "    " + pad(TerminalText.safe(p.provider, maxLength: 16), 18) + pad(String(p.succeeded), 11)
                    + pad(String(p.declined), 10) + String(p.providerFailures) + "\n"
            }
        }
        if s.untrackedProviderEvents > 0 {
            o += "    (\(s.untrackedProviderEvents) payment events for providers beyond the tracking limit)\n"
        }
        if s.untrackedSourceEvents > 0 {
            o +=
                "\n  note: \(s.untrackedSourceEvents) events from sources (pods) beyond the source table, attributed to none"
        }
        for e in s.inputErrors { o += "\n  error: " + TerminalText.safe(e, maxLength: 300) }
        if s.inputWarnings > 0 {
            o +=
                "\n  warning: \(s.inputWarnings) kubectl error lines in the input, e.g. "
                + TerminalText.safe(s.inputWarningSamples.first ?? "", maxLength: 200)
        }
        if s.untrustedTimestamps > 0 {
            o +=
                "\n  note: \(s.untrustedTimestamps) events had a timestamp that was unreadable or outside the trusted range (framing or arrival time used)"
        }
        if s.undatedEvents > 0 {
            o +=
                "\n  warning: \(s.undatedEvents) events carry no time (none in the line, no --timestamps framing): counted in the totals, left out of detection; read such logs with kubectl logs --timestamps"
        }
        if s.timeSlices > 0 {
            o +=
                "\n  note: the input was not in time order and outgrew input.batch_minute_entries, so it was read again in \(s.timeSlices) spans of event time: every minute was whole when evaluated"
        }
        if s.lateEvents > 0 {
            o +=
                "\n  note: \(s.lateEvents) events arrived after their minute had been folded into the baseline (counted there, in no window); give such input as files (read again in spans of event time) or raise input.batch_minute_entries"
        }
        if s.untrackedReusePairs > 0 {
            o +=
                "\n  note: \(s.untrackedReusePairs) redemptions by accounts reusing a code came in minutes that already held 256 such accounts: the first are reported, these only counted"
        }
        if s.duplicatePromotionLines > 0 {
            o +=
                "\n  note: \(s.duplicatePromotionLines) request lines of an ApplyPromotion already logged under the same trace id counted as requests only"
        }
        return o
    }

    static func pad(_ s: String, _ w: Int) -> String {
        let c = s.count
        return c >= w ? s + " " : s + String(repeating: " ", count: w - c)
    }
}

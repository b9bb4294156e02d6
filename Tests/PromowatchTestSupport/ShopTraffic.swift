/// The rest of a shop around a test's incident: `count` redemptions of an ordinary code, each by
/// another customer, one every 12 seconds from 08:31:00 on 2026-11-20 (300 of them reach 09:30:48),
/// as JSON payloads. A code one account redeemed an hour before is private only against such a
/// crowd (`BlastRadius.privacyShown`): in a log with nothing else, nobody can tell.
public enum ShopTraffic {
    public static func redemptions(_ count: Int = 300, prefix: String = "") -> String {
        (0..<count).map { i -> String in
            let s = 31 * 60 + i * 12
            let ts = "2026-11-20T\(two(8 + s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))Z"
            return prefix
                + #"{"ts":"\#(ts)","msg":"ApplyPromotion","coupon":"SHOP5","user_id":"shopper-\#(i)","status":"applied"}"#
                + "\n"
        }.joined()
    }

    private static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
}

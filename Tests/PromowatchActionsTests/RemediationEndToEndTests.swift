import XCTest
import PromowatchTestSupport
import Foundation
import PromowatchCore
import LogGenerator

/// The built binary against the fake API server, configured through a kubeconfig.
final class RemediationEndToEndTests: XCTestCase {

    static var binary: URL { Binary.url() }

    func kubeconfig(_ s: FakeAPIServer) throws -> String { try RemediationEndToEndTests.kubeconfig(s) }

    static func kubeconfig(_ s: FakeAPIServer) throws -> String {
        let path = s.dir + "/kubeconfig"
        try """
        apiVersion: v1
        kind: Config
        current-context: test
        contexts: [{name: test, context: {cluster: fake, user: pw}}]
        clusters: [{name: fake, cluster: {server: "\(s.url)", certificate-authority-data: \(Data(s.caPEM.utf8).base64EncodedString())}}]
        users: [{name: pw, user: {token: \(s.token)}}]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func start(_ args: [String], input: Data, env: [String: String]) throws -> (Process, Pipe) {
        let inp = Pipe()
        let out = Pipe()
        let p = try Binary.start(args, environment: env, stdin: inp, stdout: out)
        inp.fileHandleForWriting.write(input)
        try inp.fileHandleForWriting.close()
        return (p, out)
    }

    func testApplyBlacklistsTheLeakAndSwitchesStripeOffAndNothingElse() throws {
        let s = try FakeAPIServer(configMap: [
            "BLACKLISTED_COUPONS": "OLDCODE", "ENABLE_STRIPE": "true", "ENABLE_PAYPAL": "false",
            "UNRELATED": "untouched",
        ])
        var cfg = ScenarioConfig()
        cfg.hours = 14
        cfg.priorHours = 24  // a day of account history: the leak's redeemers are new to the shop
        cfg.legitSpikes = false
        cfg.onlyIncidents = ["leaked employee code", "stripe outage"]
        var sg = ScenarioGenerator(config: cfg)
        let r = Renderer(format: .json, framing: .prefixTimestamps)
        var rng = SplitMix64(seed: 1)
        var log: [UInt8] = []
        sg.generate { r.render($0, rng: &rng, into: &log) }
        let (p, out) = try start(
            ["analyze", "--apply", "--format", "json"], input: Data(log),
            env: ["KUBECONFIG": try kubeconfig(s), "HOME": s.dir])
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(
            try s.data(),
            [
                "BLACKLISTED_COUPONS": "OLDCODE,\(ScenarioGenerator.leakedCode)", "ENABLE_STRIPE": "false",
                "ENABLE_PAYPAL": "true", "UNRELATED": "untouched",
            ], text)
        XCTAssertTrue(text.contains("\"applied\": true"))
        XCTAssertTrue(text.contains("\"outcome\": \"applied: BLACKLISTED_COUPONS=OLDCODE,STAFF50-ANNA\""), text)
    }

    func testTwoProcessesAtOnceBothLand() throws {
        let s = try FakeAPIServer(configMap: ["BLACKLISTED_COUPONS": "OLD"])
        try s.control(["slow_ms": 300])  // widen the window in which both read the same version
        // one redemption 90 minutes before: a code watched for an hour with one account, among the
        // shop's 300 other redemptions, is private
        func reuse(_ code: String) -> Data {
            Data(
                ([
                    #"{"ts":"2026-11-20T08:30:00Z","msg":"ApplyPromotion","coupon":"\#(code)","user_id":"u-\#(code)","status":"applied"}"#,
                    String(ShopTraffic.redemptions().dropLast()),
                ]
                    + (0..<10).map {
                        #"{"ts":"2026-11-20T10:00:0\#($0)Z","msg":"ApplyPromotion","coupon":"\#(code)","user_id":"u-\#(code)","status":"applied"}"#
                    })
                    .joined(separator: "\n").utf8 + [0x0A])
        }
        let env = ["KUBECONFIG": try kubeconfig(s), "HOME": s.dir]
        let a = try start(["analyze", "--apply", "--format", "json"], input: reuse("CODEA"), env: env)
        let b = try start(["analyze", "--apply", "--format", "json"], input: reuse("CODEB"), env: env)
        let outA = String(decoding: a.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let outB = String(decoding: b.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        a.0.waitUntilExit()
        b.0.waitUntilExit()
        let list = Set((try s.data()["BLACKLISTED_COUPONS"] ?? "").split(separator: ",").map(String.init))
        XCTAssertEqual(list, ["OLD", "CODEA", "CODEB"], "no lost update:\n\(outA)\n\(outB)")
        let patches = (try s.control()["requests"] as! [[String: Any]]).filter { ($0["verb"] as? String) == "PATCH" }
            .count
        XCTAssertGreaterThanOrEqual(
            patches, 2, "each process wrote (conditionally; a loser of the race re-reads and retries)")
    }
}

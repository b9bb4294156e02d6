import XCTest
import LogGenerator

/// A test case with a temporary directory of its own, removed after each test.
class TemporaryDirectoryTestCase: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "promowatch-\(type(of: self))-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Writes `bytes` to `name` in the directory; returns the path.
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = dir + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)")
        return path
    }
}

enum TestInputs {
    /// The adversarial day the engine tests share (seed 720314304983), JSON payloads in CRI framing.
    static let adversarialDay: [UInt8] = {
        var day = AdversarialDay(seed: 720_314_304_983)
        var records: [Record] = []
        day.generate { records.append($0) }
        let r = Renderer(format: .json, framing: .cri)
        var rng = SplitMix64(seed: 5)
        var out: [UInt8] = []
        for rec in records { r.render(rec, rng: &rng, into: &out) }
        return out
    }()
}

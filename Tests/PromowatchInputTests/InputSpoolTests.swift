import XCTest
import Foundation
@testable import PromowatchInput

/// A batch reads standard input from a pipe once, copying it as it goes, so that it can read it
/// again when it was not in time order: the copy must hold exactly the bytes read (gzip input as
/// it came, compressed), leave no file behind, and give up cleanly past its limit.
final class InputSpoolTests: XCTestCase {
    func readAll(_ source: inout ByteSource) throws -> [UInt8] {
        var out: [UInt8] = []
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: 1000)
        defer { buf.deallocate() }
        while true {
            let n = try source.read(into: buf, capacity: 1000)
            if n == 0 { return out }
            out += UnsafeBufferPointer(start: buf, count: n)
        }
    }

    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "pw-spool-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testTheCopyHoldsWhatWasReadAndOpensAgainFromItsFirstByte() throws {
        let dir = try temporaryDirectory()
        let text = (0..<5000).map { "{\"msg\":\"ApplyPromotion\",\"coupon\":\"C\($0)\"}\n" }.joined()
        let gz = dir + "/in.log.gz"
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c > '\(gz)'"]
        let pipe = Pipe()
        gzip.standardInput = pipe
        try gzip.run()
        try pipe.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        try pipe.fileHandleForWriting.close()
        gzip.waitUntilExit()
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: gz)))

        let spool = try XCTUnwrap(InputSpool(limit: 1 << 20, directory: dir))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["in.log.gz"], "the copy has no name")
        var source = try ByteSource.open(gz, spool: spool)
        XCTAssertTrue(source.isGzip)
        XCTAssertEqual(try readAll(&source), Array(text.utf8))
        source.close()
        XCTAssertEqual(spool.bytes, raw.count, "the bytes as read: compressed")
        XCTAssertNil(spool.gaveUp)

        // opened afresh twice: the whole input each time, inflated again
        for _ in 0..<2 {
            let path = try XCTUnwrap(spool.path)
            var again = try ByteSource.open(path)
            XCTAssertTrue(again.isGzip)
            XCTAssertEqual(try readAll(&again), Array(text.utf8))
            again.close()
        }
    }

    func testPastItsLimitTheCopyIsGivenUpAndItsSpaceFreed() throws {
        let dir = try temporaryDirectory()
        let file = dir + "/in.log"
        let bytes = [UInt8](repeating: UInt8(ascii: "x"), count: 10_000) + [0x0A]
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let spool = try XCTUnwrap(InputSpool(limit: 4096, directory: dir))
        var source = try ByteSource.open(file, spool: spool)
        XCTAssertEqual(try readAll(&source), bytes, "the reading itself goes on")
        source.close()
        XCTAssertNil(spool.path)
        XCTAssertEqual(spool.gaveUp, "the input is longer than input.stdin_copy_megabytes")
        XCTAssertLessThanOrEqual(spool.bytes, 4096)
    }

    func testNoCopyWhereNoTemporaryFileCanBeMade() {
        XCTAssertNil(InputSpool(limit: 1 << 20, directory: "/nonexistent-\(UUID().uuidString)"))
    }
}

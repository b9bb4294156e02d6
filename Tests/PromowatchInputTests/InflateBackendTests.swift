import XCTest
import Foundation
@testable import PromowatchInput

/// ISA-L inflates gzip input when the machine has it, on a thread of its own when there is a
/// second CPU: whichever library and thread, the same bytes come out and the same errors stop a
/// corrupt, truncated or garbage-tailed input, after the same data.
final class InflateBackendTests: XCTestCase {
    struct Outcome: Equatable {
        var bytes: [UInt8]
        var error: InputError.Kind?
        var offset: Int?
    }

    func read(_ path: String, _ backend: InflateBackend, overlap: Bool, capacity: Int) throws -> (
        Outcome, InflateBackend
    ) {
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let g = try GzipReader(file: FileReader(fd: fd, name: path), backend: backend, overlap: overlap)
        defer { g.close() }
        var out = Outcome(bytes: [])
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buf.deallocate() }
        do {
            while true {
                let n = try g.read(into: buf, capacity: capacity)
                if n == 0 { break }
                out.bytes += UnsafeBufferPointer(start: buf, count: n)
            }
            XCTAssertEqual(try g.read(into: buf, capacity: capacity), 0, "the end stays the end")
        } catch let e as InputError {
            out.error = e.kind
            out.offset = e.offset
            XCTAssertEqual(try g.read(into: buf, capacity: capacity), 0, "after an error the input is over")
        }
        return (out, g.backend)
    }

    func requireISAL() throws {
        guard InflateBackend.preferred == .isal else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                return XCTFail("ISA-L (libisal-dev) is missing: `bash scripts/deps.sh build` installs it")
            }
            throw XCTSkip("ISA-L is not installed here (bash scripts/deps.sh build)")
        }
    }

    func inputs() throws -> [(String, String)] {
        var cases: [(String, String)] = [
            "checkout-sample.log.gz", "concatenated.log.gz", "corrupt.log.gz", "truncated.log.gz",
            "gzip-without-suffix.log", "shop-incidents.log.gz",
        ].map { ($0, fixtures.appendingPathComponent($0).path) }
        let text = Array(
            (0..<20000).map { "line \($0) " + String(repeating: "z", count: $0 % 97) }.joined(separator: "\n").utf8)
        let one = try gzip(text)
        let small = try gzip(Array("tail\n".utf8))
        // members with zero padding between them and at the end; garbage after a member; a member
        // whose trailer (CRC-32) is wrong; the same file cut inside its trailer
        var badCRC = small
        badCRC[badCRC.count - 8] ^= 0xFF
        for (name, bytes) in [
            ("members", one + small + [0, 0] + one + [0, 0, 0]), ("garbage", one + Array("not gzip".utf8)),
            ("bad-crc", one + badCRC), ("cut-trailer", Array(one.dropLast(3))),
            ("header-only", [0x1F, 0x8B, 0x08, 0x00, 0xFF, 0xFF]),
        ] {
            cases.append((name, tempFile(bytes)))
        }
        return cases
    }

    func testEveryLibraryAndThreadHandsOutTheSameBytesAndErrors() throws {
        try requireISAL()
        for (name, path) in try inputs() {
            let (reference, refBackend) = try read(path, .zlib, overlap: false, capacity: 1 << 16)
            XCTAssertEqual(refBackend, .zlib)
            for (backend, overlap, capacity) in [
                (InflateBackend.zlib, true, 1 << 16), (.isal, false, 1 << 16), (.isal, true, 1 << 16),
                (.isal, true, 4096), (.isal, false, 7),
            ] {
                let (got, used) = try read(path, backend, overlap: overlap, capacity: capacity)
                let what = "\(name) \(backend) overlap \(overlap) capacity \(capacity)"
                XCTAssertEqual(used, backend, name)
                if case .corruptGzip? = reference.error, backend != .zlib {
                    // each library notices corrupt data after decoding a different amount of it
                    // (the same bytes up to there): one output is a prefix of the other
                    let n = min(got.bytes.count, reference.bytes.count)
                    XCTAssertTrue(got.bytes[..<n] == reference.bytes[..<n], what)
                    XCTAssertGreaterThan(n, 200_000, what)
                } else {
                    XCTAssertEqual(got.bytes.count, reference.bytes.count, what)
                    XCTAssertTrue(got.bytes == reference.bytes, what)
                }
                // the kind of error is the same; where a corrupt stream is noticed may differ by
                // the libraries' read-ahead, never for a cut (all of the input was read)
                switch (reference.error, got.error) {
                case (.corruptGzip?, .corruptGzip?): XCTAssertGreaterThan(got.offset ?? 0, 0, name)
                default:
                    XCTAssertEqual(got.error, reference.error, "\(name) \(backend) overlap \(overlap)")
                    XCTAssertEqual(got.offset, reference.offset, "\(name) \(backend) overlap \(overlap)")
                }
            }
            if !path.hasPrefix(fixtures.path) { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    /// `PROMOWATCH_THREADS=1` keeps gzip input on the caller's thread too (it once only held back
    /// the detection thread, so "one thread" still inflated on a second).
    func testOneThreadMeansNoInflatingThread() throws {
        let path = fixtures.appendingPathComponent("shop-incidents.log.gz").path
        setenv("PROMOWATCH_THREADS", "1", 1)
        defer { unsetenv("PROMOWATCH_THREADS") }
        XCTAssertFalse(Machine.mayUseSecondThread)
        let g = try GzipReader(file: FileReader(fd: open(path, O_RDONLY), name: path))
        defer { g.close() }
        XCTAssertNil(g.ahead)
        unsetenv("PROMOWATCH_THREADS")
        let h = try GzipReader(file: FileReader(fd: open(path, O_RDONLY), name: path))
        defer { h.close() }
        XCTAssertEqual(h.ahead != nil, Machine.usableCPUs > 1)
    }

    /// Nothing keeps an input's inflating thread and its ring alive once the input is read or
    /// dropped (a Thread stored beside its closure once made a cycle: 4 MB leaked per .gz input).
    func testTheInflatingThreadAndItsRingAreFreed() throws {
        let path = fixtures.appendingPathComponent("shop-incidents.log.gz").path
        for readToEnd in [true, false] {
            weak var ahead: InflateAhead?
            do {
                let g = try GzipReader(file: FileReader(fd: open(path, O_RDONLY), name: path), overlap: true)
                ahead = g.ahead
                XCTAssertNotNil(ahead)
                let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 16)
                while try g.read(into: buf, capacity: 1 << 16) > 0 && readToEnd {}
                buf.deallocate()
                g.close()
            }
            let deadline = Date().addingTimeInterval(5)
            while ahead != nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            XCTAssertNil(ahead, "read to the end: \(readToEnd)")
        }
    }

    /// An input abandoned before its end stops its inflating thread (no thread left behind, no
    /// memory beyond the four chunks held).
    func testAnAbandonedInputStopsItsThread() throws {
        let path = fixtures.appendingPathComponent("shop-incidents.log.gz").path
        for _ in 0..<20 {
            let fd = open(path, O_RDONLY)
            let g = try GzipReader(file: FileReader(fd: fd, name: path), overlap: true)
            let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: 100)
            XCTAssertGreaterThan(try g.read(into: buf, capacity: 100), 0)
            buf.deallocate()
            g.close()
        }
    }
}

import XCTest
@testable import PromowatchParsing

final class NumberTests: XCTestCase {
    func d(_ s: String) -> Double? {
        var b = Array(s.utf8)
        return b.withUnsafeMutableBufferPointer {
            ByteNumbers.parseDouble(UnsafePointer($0.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!), $0.count)
        }
    }
    func dur(_ s: String) -> Double? {
        var b = Array(s.utf8)
        return b.withUnsafeMutableBufferPointer {
            ByteNumbers.parseDurationMs(UnsafePointer($0.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!), $0.count)
        }
    }

    func testDecimal() {
        XCTAssertEqual(d("12"), 12)
        XCTAssertEqual(d("-3.25"), -3.25)
        XCTAssertEqual(d(" 1e3 "), 1000)
        XCTAssertEqual(d("0.1"), 0.1)
        XCTAssertEqual(d("1234.56"), 1234.56)
        XCTAssertNil(d(""))
        XCTAssertNil(d("12abc"))
        XCTAssertNil(d("."))
        XCTAssertNil(d("1e"))
    }

    func testDurations() {
        XCTAssertEqual(dur("1.2s"), 1200)
        XCTAssertEqual(dur("350ms"), 350)
        XCTAssertEqual(dur("1h"), 3_600_000)
        XCTAssertEqual(dur("250us"), 0.25)
        XCTAssertEqual(dur("250µs"), 0.25)
        XCTAssertEqual(dur("5000000ns"), 5)
        XCTAssertEqual(dur("0.5"), 500)
        XCTAssertNil(dur("fast"))
        XCTAssertNil(dur("5parsecs"))
    }
}

import XCTest
@testable import PromowatchCore

final class CoreTests: XCTestCase {
    func testRFC3339RoundTrip() {
        XCTAssertEqual(EventTime.rfc3339(1_795_162_500 * 1_000_000_000), "2026-11-20T08:15:00Z")
        XCTAssertEqual(EventTime.rfc3339(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(
            EventTime.rfc3339(951_782_400 * 1_000_000_000 + 5, fractionDigits: 9), "2000-02-29T00:00:00.000000005Z")
        XCTAssertEqual(EventTime.daysFromCivil(year: 2026, month: 11, day: 20), 20777)
        for days in stride(from: -1000, to: 40000, by: 37) {
            let c = EventTime.civilFromDays(days)
            XCTAssertEqual(EventTime.daysFromCivil(year: c.year, month: c.month, day: c.day), days)
        }
    }

    func testSymbolTableInternsAndStaysBounded() {
        let t = SymbolTable(maxEntries: 3, maxBytes: 100)
        let a = t.intern("A")
        let b = t.intern("B")
        XCTAssertEqual(t.intern("A"), a)
        XCTAssertNotEqual(a, b)
        _ = t.intern("C")
        XCTAssertEqual(t.intern("D"), .overflow)
        XCTAssertEqual(t.overflowed, 1)
        XCTAssertEqual(t.intern("C"), 2, "known values still resolve when full")
        XCTAssertEqual(t.string(b), "B")
        XCTAssertEqual(t.count, 3)
    }

    func testSymbolTableManyEntriesGrow() {
        let t = SymbolTable(maxEntries: 100_000)
        for i in 0..<50_000 { XCTAssertEqual(t.intern("code-\(i)"), Symbol(i)) }
        for i in stride(from: 0, to: 50_000, by: 997) { XCTAssertEqual(t.intern("code-\(i)"), Symbol(i)) }
        XCTAssertEqual(t.find(Array("code-42".utf8)), 42)
        XCTAssertEqual(t.find(Array("nope".utf8)), .none)
    }

    func testEventCountsAddEveryKind() {
        var c = EventCounts()
        c.add([.paymentProviderFailure, .timeout])
        c.add(.dbSaturation)
        XCTAssertEqual(c.paymentProviderFailure, 1)
        XCTAssertEqual(c.timeout, 1)
        XCTAssertEqual(c.dbSaturation, 1)
        XCTAssertEqual(
            c.named.map(\.name),
            [
                "promotion_applied", "promotion_rejected", "payment_succeeded", "payment_declined",
                "payment_provider_failure", "compensation_failure", "request", "timeout", "db_saturation",
            ])
    }

    func testHashIsStable() {
        XCTAssertEqual(ByteHash.hash(Array("CART20".utf8)), ByteHash.hash(Array("CART20".utf8)))
        XCTAssertNotEqual(ByteHash.hash(Array("CART20".utf8)), ByteHash.hash(Array("CART21".utf8)))
        XCTAssertNotEqual(ByteHash.hash(Array("".utf8)), 0)
    }

    /// Pins a trap found by MutatedInputTests in CI: a discount of -1e20 made a discount share
    /// whose percentage overflowed Int while a finding's summary was written.
    func testNumberTextPrintsAnyValue() {
        XCTAssertEqual(NumberText.short(3.756), "3.76")
        XCTAssertEqual(NumberText.short(118.4), "118")
        XCTAssertEqual(NumberText.percent(0.54), "54%")
        for v in [-1e20, 1e20, Double.nan, .infinity, -.infinity, 9.3e18, -9.3e16] {
            XCTAssertFalse(NumberText.short(v).isEmpty)
            XCTAssertFalse(NumberText.percent(v).isEmpty)
        }
        XCTAssertEqual(NumberText.percent(-1e20), "-1e+22%")
    }
}

final class ExampleTextTests: XCTestCase {
    /// Example lines reach terminals, JSON readers and HTML: only printable ASCII survives as
    /// itself; card numbers (Luhn-valid runs of 13 to 19 digits) are masked; long lines are cut.
    func testExampleLinesAreSanitised() {
        XCTAssertEqual(ExampleText.sanitized("a\u{1B}[2Jb"), "a\\x1b[2Jb")
        XCTAssertEqual(
            ExampleText.sanitized("x\u{202E}y"), "x\\xe2\\x80\\xaey", "a bidi override is bytes, not an override")
        XCTAssertEqual(ExampleText.sanitized("card 4111111111111111 ok"), "card ************1111 ok")
        XCTAssertEqual(ExampleText.sanitized("at 1795169080000"), "at 1795169080000", "fails Luhn: a timestamp")
        XCTAssertEqual(ExampleText.sanitized("order 123456789012"), "order 123456789012", "too short for a card")
        XCTAssertEqual(ExampleText.sanitized(String(repeating: "z", count: 300), maxLength: 10), "zzzzzzzzzz...")
        var invalid: [UInt8] = [0x41, 0xFF, 0xC0, 0x42]
        let s = invalid.withUnsafeMutableBufferPointer { ExampleText.sanitized($0.baseAddress!, $0.count) }
        XCTAssertEqual(s, "A\\xff\\xc0B")
    }
}

final class DisplaySafetyTests: XCTestCase {
    /// JSON output wrote C1 controls and bidi overrides raw; a terminal showing it obeyed them.
    func testJSONEscapesWhatATerminalWouldObey() {
        let q = JSONString.quoted("A\u{202E}B\u{2066}C\u{85}D\u{FEFF}E\u{61C}F")
        XCTAssertEqual(q, #""A\u202eB\u2066C\u0085D\ufeffE\u061cF""#)
        let back = try? JSONSerialization.jsonObject(with: Data(("[" + q + "]").utf8)) as? [String]
        XCTAssertEqual(back?.first, "A\u{202E}B\u{2066}C\u{85}D\u{FEFF}E\u{61C}F", "still the same string to a parser")
    }

    /// Two codes with different invalid bytes rendered alike (`OL\u{FFFD}\u{FFFD}`), so one hid the
    /// other's finding under the cooldown.
    func testInvalidUTF8CodesStayDistinct() {
        let t = SymbolTable()
        var a: [UInt8] = Array("OL".utf8) + [0xFF, 0xFE]
        var b: [UInt8] = Array("OL".utf8) + [0xC0, 0xC1]
        let ia = a.withUnsafeMutableBufferPointer { t.intern($0.baseAddress!, $0.count) }
        let ib = b.withUnsafeMutableBufferPointer { t.intern($0.baseAddress!, $0.count) }
        XCTAssertEqual(t.string(ia), #"OL\xff\xfe"#)
        XCTAssertEqual(t.string(ib), #"OL\xc0\xc1"#)
        XCTAssertEqual(t.string(t.intern("CAFÉ10")), "CAFÉ10", "valid UTF-8 is shown as it is")
    }
}

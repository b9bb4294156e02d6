import XCTest
import PromowatchCore
@testable import PromowatchDetection

/// The compact per-minute code table (issue 12: 100,000 codes a minute took 215 bytes a
/// code-minute as a dictionary of `CouponStat`) must read back exactly what the dictionary held.
final class CouponTableTests: XCTestCase {
    func randomEvent(_ rng: inout SystemRandomNumberGenerator) -> Event {
        var e = Event()
        e.kinds = .promotionApplied
        let amounts: [Double] = [5, 12.5, 50, 0, .nan, .infinity, 200]
        e.discount = amounts.randomElement(using: &rng)!
        e.subtotal = amounts.randomElement(using: &rng)!
        return e
    }

    func testReadsBackWhatADictionaryOfStatsHolds() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            var table = CouponTable()
            var reference: [Int32: CouponStat] = [:]
            let codes = Int32.random(in: 1...3000, using: &rng)
            let accounts = UInt64.random(in: 1...40, using: &rng)
            for n in 0..<5000 {
                let c = Int32.random(in: 0..<codes, using: &rng)
                let account = UInt64.random(in: 0...accounts, using: &rng) &* 0x9E37_79B9_7F4A_7C15
                let e = randomEvent(&rng)
                XCTAssertEqual(
                    table.add(c, e, account: account), reference[c, default: CouponStat()].add(e, account: account))
                if n % 1700 == 0 { table.compact() }  // the index comes back with the next insert
            }
            // a partial from elsewhere (a snapshot, another instance) merged in
            var other = CouponStat()
            for _ in 0..<30 { other.add(randomEvent(&rng), account: UInt64.random(in: 1...UInt64.max, using: &rng)) }
            table.merge(3, other)
            reference[3, default: CouponStat()].merge(other)

            XCTAssertEqual(table.count, reference.count, "round \(round)")
            var seen = Set<Int32>()
            for (c, s) in table {
                XCTAssertTrue(seen.insert(c).inserted, "code \(c) twice")
                XCTAssertEqual(s.applied, reference[c]?.applied)
                XCTAssertEqual(s.accounts, reference[c]?.accounts, "code \(c)")
                XCTAssertEqual(s.stacked, reference[c]?.stacked)
                XCTAssertEqual(s.sharedCount, reference[c]?.sharedCount)
                // sums in the same order: bit for bit
                XCTAssertEqual(s.discount.bitPattern, reference[c]?.discount.bitPattern)
                XCTAssertEqual(s.sharedSubtotal.bitPattern, reference[c]?.sharedSubtotal.bitPattern)
                XCTAssertEqual(s.sharedDiscount.bitPattern, reference[c]?.sharedDiscount.bitPattern)
            }
            XCTAssertEqual(Set(table.keys), Set(reference.keys))
        }
    }

    /// Iteration follows first appearance, so whatever reads a minute's codes in order (the
    /// hour profile when it is full) does the same in every process.
    func testIteratesInTheOrderCodesFirstAppeared() {
        var table = CouponTable()
        let order: [Int32] = [7, 3, 99, 0, 3, 7, 12]
        for c in order { table.add(c, Event(), account: 0) }
        XCTAssertEqual(table.keys, [7, 3, 99, 0, 12])
        XCTAssertEqual(table.map(\.value.applied), [2, 2, 1, 1, 1])
    }
}

import PromowatchCore
@testable import PromowatchParsing

/// Runs one line through framing and extraction, the way the analyzer does.
final class LineHarness {
    let deframer = Deframer()
    let extractor: EventExtractor = {
        let x = EventExtractor()
        x.maxFutureSkew = .max  // lines here arrive at time 7; the trusted range has tests of its own
        return x
    }()

    /// The event of a complete line, or nil when the line was buffered as a partial.
    func event(_ line: String) -> Event? {
        var bytes = Array(line.utf8)
        return event(bytes: &bytes)
    }

    func event(bytes: inout [UInt8]) -> Event? {
        bytes.withUnsafeBufferPointer { b -> Event? in
            let p = b.baseAddress ?? UnsafePointer(bitPattern: 1)!
            switch deframer.deframe(p, b.count) {
            case .partial, .skipped: return nil
            case .record(let f):
                return extractor.extract(f, phrases: LineMarker.phrases(f.payload, f.length), arrival: 7)
            }
        }
    }

    func coupon(_ e: Event) -> String? { e.coupon >= 0 ? extractor.coupons.string(e.coupon) : nil }
    /// Text of the last extracted event's field (users and ips are hashed, not interned).
    func user(_ e: Event) -> String? { extractor.text(.user) }
    func ip(_ e: Event) -> String? { extractor.text(.ip) }
    func provider(_ e: Event) -> String? { e.provider >= 0 ? extractor.providers.string(e.provider) : nil }
    func source(_ e: Event) -> String? { e.source >= 0 ? extractor.sources.string(e.source) : nil }
}

let t0: Int64 = 1_795_162_500 * 1_000_000_000  // 2026-11-20T08:15:00Z

import CByteSearch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Phrases that make a line an event wherever they appear in it (contract section 3).
public struct Phrases: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let timeout = Phrases(rawValue: 1)
    public static let dbSaturation = Phrases(rawValue: 2)

    static let needles: [(StaticString, Phrases)] = [
        ("context deadline exceeded", .timeout),
        ("too many clients", .dbSaturation),
        ("remaining connection slots are reserved", .dbSaturation),
    ]

    /// The phrases in one line.
    public static func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> Phrases {
        var r: Phrases = []
        for (needle, flag) in needles where Bytes.contains(p, n, needle) { r.insert(flag) }
        return r
    }

    /// Every phrase occurrence in a block of many lines, as (offset, phrase), sorted by offset.
    /// One pass per needle over the whole block is far cheaper than a search per line.
    public static func scanBlock(_ p: UnsafePointer<UInt8>, _ n: Int, into hits: inout [(offset: Int, phrase: Phrases)]) {
        hits.removeAll(keepingCapacity: true)
        for (needle, flag) in needles {
            let m = needle.utf8CodeUnitCount
            var i = 0
            while i + m <= n, let r = promowatch_memmem(p + i, n - i, needle.utf8Start, m) {
                let off = UnsafePointer<UInt8>(r.assumingMemoryBound(to: UInt8.self)) - p
                hits.append((off, flag))
                i = off + m
            }
        }
        if hits.count > 1 { hits.sort { $0.offset < $1.offset } }
    }
}

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

    public static let needles: [(StaticString, Phrases)] = [
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

}

/// Finds every phrase occurrence in a block of many lines in one vectorised pass for all
/// needles (`promowatch_find_needles`) — far cheaper than a search per line. Owns its hit
/// buffer: one finder per analyzer (per thread).
public final class PhraseFinder {
    private let count: Int
    private let pointers: UnsafeMutablePointer<UnsafePointer<UInt8>?>
    private let lengths: UnsafeMutablePointer<Int>
    private let probeA: UnsafeMutablePointer<Int>
    private let probeB: UnsafeMutablePointer<Int>
    private var offsets: UnsafeMutablePointer<Int>
    private var indices: UnsafeMutablePointer<UInt8>
    private var capacity: Int

    public init() {
        let ns = Phrases.needles
        count = ns.count
        pointers = .allocate(capacity: count)
        lengths = .allocate(capacity: count)
        probeA = .allocate(capacity: count)
        probeB = .allocate(capacity: count)
        for (k, (needle, _)) in ns.enumerated() {
            pointers[k] = needle.utf8Start
            lengths[k] = needle.utf8CodeUnitCount
            (probeA[k], probeB[k]) = PhraseFinder.rarestPositions(Array(UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)))
        }
        capacity = 4096
        offsets = .allocate(capacity: capacity)
        indices = .allocate(capacity: capacity)
    }

    deinit {
        pointers.deallocate(); lengths.deallocate(); probeA.deallocate(); probeB.deallocate()
        offsets.deallocate(); indices.deallocate()
    }

    /// Two positions of the needle holding its rarest bytes (by English letter frequency), so
    /// that the vector filter lets few positions through to the full compare.
    static func rarestPositions(_ needle: [UInt8]) -> (Int, Int) {
        let order = Array("zqxjkvbpygfwmucldrhsnioate ".utf8)
        func rank(_ b: UInt8) -> Int { order.firstIndex(of: Bytes.lower(b)) ?? -1 }  // other bytes: rarest
        let byRarity = needle.indices.sorted { (rank(needle[$0]), $0) < (rank(needle[$1]), $1) }
        let a = byRarity[0]
        let b = byRarity.first { needle[$0] != needle[a] } ?? (a == 0 ? needle.count - 1 : 0)
        return (a, b)
    }

    /// Fills `hits` with (offset, phrase) for `p[0..<n]`, sorted by offset.
    public func scan(_ p: UnsafePointer<UInt8>, _ n: Int, into hits: inout [(offset: Int, phrase: Phrases)]) {
        hits.removeAll(keepingCapacity: true)
        var total = promowatch_find_needles(p, n, pointers, lengths, count, probeA, probeB, offsets, indices, capacity)
        if total > capacity {
            // very many hits in one block: ask again with room for all of them
            offsets.deallocate(); indices.deallocate()
            capacity = total
            offsets = .allocate(capacity: total)
            indices = .allocate(capacity: total)
            total = promowatch_find_needles(p, n, pointers, lengths, count, probeA, probeB, offsets, indices, capacity)
        }
        for k in 0..<min(total, capacity) {
            hits.append((offsets[k], Phrases.needles[Int(indices[k])].1))
        }
    }
}

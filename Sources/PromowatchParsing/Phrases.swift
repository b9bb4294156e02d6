import CByteSearch

/// What a line holds before it is parsed: phrases that make it an event wherever they
/// appear (contract section 3), and whether it may be any other event at all.
public struct Phrases: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let timeout = Phrases(rawValue: 1)
    public static let dbSaturation = Phrases(rawValue: 2)
    /// The line contains a word that every other event needs (see `LineMarker`): parse it.
    public static let mayBeEvent = Phrases(rawValue: 4)

    /// Exact phrases that are events by themselves.
    public static let eventPhrases: [(String, Phrases)] = [
        ("context deadline exceeded", .timeout),
        ("too many clients", .dbSaturation),
        ("remaining connection slots are reserved", .dbSaturation),
    ]

    /// Words, matched ignoring ASCII case, without which a line cannot be a promotion, payment,
    /// compensation or request event: the event names of section 3 contain one of the first
    /// three, and a request needs a latency key. A backslash marks the line too, because an
    /// escape (`\u0041pplyPromotion`) can hide any of them. Latency keys come from the key table,
    /// so aliases added in configuration are covered.
    public static func candidateWords(keys: KeyTable) -> [String] {
        var words = ["applypromotion", "payment", "compensation", "\\"]
        for key in keys.aliases(for: .latencyMs) + keys.aliases(for: .latency) {
            let k = key.lowercased()
            if !words.contains(where: { k.contains($0) }) {
                words.removeAll { $0.contains(k) }
                words.append(k)
            }
        }
        return words
    }
}

/// Marks lines in one vectorised pass over a whole block (`promowatch_find_needles`) — far
/// cheaper than searching each line. Owns its hit buffer: one marker per analyzer (per thread).
public final class LineMarker {
    private let count: Int
    private let pointers: UnsafeMutablePointer<UnsafePointer<UInt8>?>
    private let lengths: UnsafeMutablePointer<Int>
    private let probeA: UnsafeMutablePointer<Int>
    private let probeB: UnsafeMutablePointer<Int>
    private let fold: UnsafeMutablePointer<UInt8>
    private let window: UnsafeMutablePointer<Int>
    private let marks: [Phrases]
    private var offsets: UnsafeMutablePointer<Int>
    private var indices: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var scratchHits: [(offset: Int, phrase: Phrases)] = []

    public init(keys: KeyTable = KeyTable()) {
        var needles: [([UInt8], Bool, Phrases)] = Phrases.eventPhrases.map { (Array($0.0.utf8), false, $0.1) }
        needles += Phrases.candidateWords(keys: keys).prefix(16 - needles.count).map {
            (Array($0.utf8), true, Phrases.mayBeEvent)
        }
        count = needles.count
        marks = needles.map(\.2)
        pointers = .allocate(capacity: count)
        lengths = .allocate(capacity: count)
        probeA = .allocate(capacity: count)
        probeB = .allocate(capacity: count)
        fold = .allocate(capacity: count)
        window = .allocate(capacity: count)
        for k in 0..<count {
            let bytes = needles[k].0
            let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
            copy.initialize(from: bytes, count: bytes.count)
            pointers[k] = UnsafePointer(copy)
            lengths[k] = bytes.count
            (probeA[k], probeB[k]) = LineMarker.rarestPositions(bytes)
            fold[k] = needles[k].1 ? 1 : 0
            window[k] = LineMarker.rarestWindow(needles[k].0)
        }
        capacity = 4096
        offsets = .allocate(capacity: capacity)
        indices = .allocate(capacity: capacity)
    }

    deinit {
        for k in 0..<count { UnsafeMutablePointer(mutating: pointers[k])?.deallocate() }
        pointers.deallocate()
        lengths.deallocate()
        probeA.deallocate()
        probeB.deallocate()
        fold.deallocate()
        window.deallocate()
        offsets.deallocate()
        indices.deallocate()
    }

    /// Two positions of the needle holding its rarest bytes (by English letter frequency), so
    /// that the vector filter lets few positions through to the full compare.
    static func rarestPositions(_ needle: [UInt8]) -> (Int, Int) {
        let ranks = needle.map { LineMarker.rarity[Int($0)] }
        let byRarity = needle.indices.sorted { (ranks[$0], $0) < (ranks[$1], $1) }
        let a = byRarity[0]
        let b = byRarity.first { needle[$0] != needle[a] } ?? a
        return (a, b)
    }

    /// Start of the needle's 3-byte window with the rarest letters (the Teddy fingerprint).
    static func rarestWindow(_ needle: [UInt8]) -> Int {
        guard needle.count > 3 else { return 0 }
        let ranks = needle.map { LineMarker.rarity[Int($0)] }
        var best = 0
        var bestRank = Int.max
        for a in 0...(needle.count - 3) where ranks[a] + ranks[a + 1] + ranks[a + 2] < bestRank {
            best = a
            bestRank = ranks[a] + ranks[a + 1] + ranks[a + 2]
        }
        return best
    }

    /// Rank of each byte by English letter frequency, either case (rarest first); bytes that are
    /// no letter nor space rank below all of them (-1): they are rarer still in log text.
    static let rarity: [Int] = {
        let order = Array("zqxjkvbpygfwmucldrhsnioate ".utf8)
        return (0..<256).map { b in order.firstIndex(of: Bytes.lower(UInt8(b))) ?? -1 }
    }()

    /// Fills `hits` with (offset, mark) for `p[0..<n]`, sorted by offset; an offset lies inside
    /// its match, so it falls in the line that holds the match.
    public func scan(_ p: UnsafePointer<UInt8>, _ n: Int, into hits: inout [(offset: Int, phrase: Phrases)]) {
        hits.removeAll(keepingCapacity: true)
        var total = promowatch_find_needles_teddy(
            p, n, pointers, lengths, count, window, probeA, probeB, fold, offsets, indices, capacity)
        if total > capacity {
            // very many hits in one block: ask again with room for all of them
            offsets.deallocate()
            indices.deallocate()
            capacity = total
            offsets = .allocate(capacity: total)
            indices = .allocate(capacity: total)
            total = promowatch_find_needles_teddy(
                p, n, pointers, lengths, count, window, probeA, probeB, fold, offsets, indices, capacity)
        }
        for k in 0..<min(total, capacity) {
            hits.append((offsets[k], marks[Int(indices[k])]))
        }
    }

    /// The marks of one record (a payload rebuilt from partial lines or Docker escaping).
    public func marks(_ p: UnsafePointer<UInt8>, _ n: Int) -> Phrases {
        scan(p, n, into: &scratchHits)
        var m: Phrases = []
        for h in scratchHits { m.insert(h.phrase) }
        return m
    }

    /// The event phrases in one line (not `mayBeEvent`): a plain search, for tests and one-offs.
    public static func phrases(_ p: UnsafePointer<UInt8>, _ n: Int) -> Phrases {
        var r: Phrases = []
        for (needle, flag) in Phrases.eventPhrases {
            var bytes = Array(needle.utf8)
            if bytes.withUnsafeMutableBufferPointer({ b in promowatch_memmem(p, n, b.baseAddress, b.count) != nil }) {
                r.insert(flag)
            }
        }
        return r
    }
}

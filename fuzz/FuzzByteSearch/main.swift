// Differential libFuzzer target for the byte searches: the AVX2 and portable paths of the line
// marker and of the newline index must agree with each other and with a naive search, on any
// bytes. Built only by scripts/fuzz.sh; in an ordinary build this file does nothing.
import CByteSearch
import CFuzzDriver
import PromowatchCore
import PromowatchParsing

let marker = LineMarker()
let capacity = 64  // a small newline index makes its refills reachable

func marks(_ p: UnsafePointer<UInt8>, _ n: Int, portable: Bool) -> [(offset: Int, phrase: Phrases)] {
    promowatch_set_portable_only(portable ? 1 : 0)
    defer { promowatch_set_portable_only(0) }
    var hits: [(offset: Int, phrase: Phrases)] = []
    marker.scan(p, n, into: &hits)
    return hits
}

func newlines(_ p: UnsafePointer<UInt8>, _ n: Int, portable: Bool) -> [Int] {
    promowatch_set_portable_only(portable ? 1 : 0)
    defer { promowatch_set_portable_only(0) }
    let ends = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
    defer { ends.deallocate() }
    var out: [Int] = []
    var from = 0
    while true {
        let k = promowatch_index_lines(p, from, n, ends, capacity)
        if k == 0 { break }
        for i in 0..<k { out.append(Int(ends[i])) }
        from = Int(ends[k - 1]) + 1
    }
    return out
}

/// A failed check is a crash libFuzzer records (with its message, unlike `precondition` in -O).
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

let eventPhrases = Phrases.eventPhrases.map { (Array($0.0.utf8), $0.1) }
let candidateWords = Phrases.candidateWords(keys: KeyTable()).map { Array($0.utf8) }

func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= hay.count else { return false }
    return (0...(hay.count - needle.count)).contains { i in hay[i..<(i + needle.count)].elementsEqual(needle) }
}

/// What the marker must find in one line: event phrases as they are, candidate words (given in
/// lower case) in either ASCII case.
func naiveMarks(_ line: [UInt8]) -> Phrases {
    var m: Phrases = []
    for (needle, flag) in eventPhrases where contains(line, needle) { m.insert(flag) }
    let folded = line.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    if candidateWords.contains(where: { contains(folded, $0) }) { m.insert(.mayBeEvent) }
    return m
}

#if FUZZING
    @_cdecl("FuzzByteSearch_main")
    func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        return promowatch_fuzz_main(argc, argv) { data, size in fuzzByteSearch(UnsafeRawPointer(data!), size) }
    }
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzByteSearch(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    // an exact-size copy, so that a read past the end is a sanitizer report
    let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
    defer { copy.deallocate() }
    copy.initialize(from: start.assumingMemoryBound(to: UInt8.self), count: count)
    let p = UnsafePointer(copy)

    let naive = (0..<count).filter { p[$0] == 0x0A }
    let vector = newlines(p, count, portable: false)
    let portable = newlines(p, count, portable: true)
    check(vector == naive, "AVX2 newline index \(vector) differs from \(naive)")
    check(portable == naive, "portable newline index \(portable) differs from \(naive)")

    // the two paths report different offsets inside a match (the AVX2 one an anchor in its
    // rarest bytes, the portable one its start), so they are compared line by line
    let vectorHits = marks(p, count, portable: false)
    let portableHits = marks(p, count, portable: true)
    for hits in [vectorHits, portableHits] {
        check(hits.map(\.offset) == hits.map(\.offset).sorted(), "marker offsets out of order")
        var lineStart = 0
        var hi = 0
        for end in naive + [count] where lineStart <= end {
            var got: Phrases = []
            while hi < hits.count && hits[hi].offset < end {
                if hits[hi].offset >= lineStart { got.insert(hits[hi].phrase) }
                hi += 1
            }
            let want = naiveMarks(Array(UnsafeBufferPointer(start: p + lineStart, count: end - lineStart)))
            check(got == want, "line at \(lineStart): marks \(got.rawValue), naive search \(want.rawValue)")
            lineStart = end + 1
        }
    }
    return 0
}

import CByteSearch
import Foundation
import PromowatchInput
import PromowatchParsing

/// A batch's reading and line scanning on a second CPU: one thread reads the next blocks
/// (`BlockReader`, decompressing or not), finds their phrases (`LineMarker.scan`) and their line
/// ends, while the parsing thread deframes and extracts the block before. Blocks are handed over
/// in input order and each is parsed exactly as `Analyzer.process` parses it, so the results are
/// those of one thread (`ScanAheadTests` compares them whole).
///
/// At most `slots` blocks are in flight (each at most the reader's capacity): memory stays
/// bounded. A failing read is handed over after every block read before it, as on one thread.
final class ScanAhead: @unchecked Sendable {
    static let slots = 2

    /// One block with its phrase hits and line ends.
    final class Slot {
        /// A buffer of the reader's (`BlockReader.exchange`), the block at its start.
        fileprivate(set) var buffer: UnsafeMutablePointer<UInt8>
        var count = 0
        var hits: [(offset: Int, phrase: Phrases)] = []
        private(set) var lineEnds: UnsafeMutablePointer<UInt32>
        private var lineCapacity = 8192
        private(set) var lines = 0
        /// `ByteSource.position` once the block was read (progress).
        var position = 0

        init(capacity: Int) {
            buffer = .allocate(capacity: capacity)
            lineEnds = .allocate(capacity: lineCapacity)
        }

        deinit {
            buffer.deallocate()
            lineEnds.deallocate()
        }

        /// Every newline offset of the block.
        func indexLines() {
            lines = 0
            var from = 0
            while true {
                let got = promowatch_index_lines(buffer, from, count, lineEnds + lines, lineCapacity - lines)
                lines += got
                if lines < lineCapacity { return }
                // full: the block has more lines than room; grow and go on after the last one
                from = Int(lineEnds[lines - 1]) + 1
                let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: lineCapacity * 2)
                bigger.update(from: lineEnds, count: lines)
                lineEnds.deallocate()
                lineEnds = bigger
                lineCapacity *= 2
            }
        }
    }

    private enum Item {
        case block(Slot)
        case failed(Error)
        case end
    }

    private let reader: BlockReader
    private let marker: LineMarker
    private var source: ByteSource
    private var queue: [Item] = []
    private var spare: [Slot] = []
    private var made = 0
    private var stopping = false
    private var done = false
    private let cond = NSCondition()

    /// Starts reading `source` through `reader` (which the thread alone uses until `finish`).
    init(reader: BlockReader, marker: LineMarker, source: ByteSource) {
        self.reader = reader
        self.marker = marker
        self.source = source
        let t = Thread { [self] in work() }
        t.stackSize = 1 << 20
        t.start()
    }

    /// The next scanned block in input order, nil at the end of input; rethrows a failed read
    /// after the blocks read before it. Hand each block back with `recycle` once parsed.
    func next() throws -> Slot? {
        cond.lock()
        while queue.isEmpty { cond.wait() }
        let item = queue.removeFirst()
        cond.broadcast()
        cond.unlock()
        switch item {
        case .block(let s): return s
        case .failed(let e): throw e
        case .end: return nil
        }
    }

    func recycle(_ s: Slot) {
        cond.lock()
        spare.append(s)
        cond.broadcast()
        cond.unlock()
    }

    /// Stops the thread (after the block it is reading), waits for it to end and returns the
    /// source as it left it. The reader's counters are then those of every block it read.
    func finish() -> ByteSource {
        cond.lock()
        stopping = true
        cond.broadcast()
        while !done { cond.wait() }
        cond.unlock()
        return source
    }

    private func work() {
        while true {
            cond.lock()
            while spare.isEmpty && made >= ScanAhead.slots && !stopping { cond.wait() }
            if stopping {
                done = true
                cond.broadcast()
                cond.unlock()
                return
            }
            let slot: Slot
            if let s = spare.popLast() {
                slot = s
            } else {
                made += 1
                slot = Slot(capacity: reader.bufferSize)
            }
            cond.unlock()

            let item: Item
            do {
                if let block = try reader.next(from: &source) {
                    slot.count = block.count
                    slot.buffer = reader.exchange(slot.buffer)  // the block's buffer, not a copy of it
                    slot.position = source.position
                    marker.scan(slot.buffer, slot.count, into: &slot.hits)
                    slot.indexLines()
                    item = .block(slot)
                } else {
                    item = .end
                }
            } catch {
                item = .failed(error)
            }

            cond.lock()
            queue.append(item)
            let last: Bool
            if case .block = item { last = false } else { last = true }
            if last { spare.append(slot) }
            cond.broadcast()
            if last {
                // nothing more to read: wait to be told to end, so `finish` finds the source
                while !stopping { cond.wait() }
                done = true
                cond.broadcast()
                cond.unlock()
                return
            }
            cond.unlock()
        }
    }
}

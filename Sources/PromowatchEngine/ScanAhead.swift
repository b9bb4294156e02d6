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
    final class Block {
        /// Line ends indexed per block at most (a block of 1-byte lines would otherwise need four
        /// bytes of index per byte): the parsing thread indexes any lines past them itself.
        static let maxLines = 1 << 15
        /// A buffer of the reader's (`BlockReader.exchange`), the block at its start.
        fileprivate(set) var buffer: UnsafeMutablePointer<UInt8>
        var count = 0
        var hits: [(offset: Int, phrase: Phrases)] = []
        let lineEnds = UnsafeMutablePointer<UInt32>.allocate(capacity: Block.maxLines)
        /// Lines indexed in `lineEnds`, the first ones of the block.
        private(set) var lines = 0
        /// `ByteSource.position` once the block was read (progress).
        var position = 0

        init(capacity: Int) {
            buffer = .allocate(capacity: capacity)
        }

        deinit {
            buffer.deallocate()
            lineEnds.deallocate()
        }

        /// The block's first `maxLines` newline offsets.
        func indexLines() {
            lines = promowatch_index_lines(buffer, 0, count, lineEnds, Block.maxLines)
        }
    }

    private enum Item {
        case block(Block)
        case failed(Error)
        case end
    }

    private let reader: BlockReader
    private let marker: LineMarker
    private var source: ByteSource
    private var queue: [Item] = []
    private var spare: [Block] = []
    private var made = 0
    private var stopping = false
    private var done = false
    private let cond = NSCondition()
    /// The reading thread, joined by `finish`: when it returns, the thread and what it held (this
    /// object, the marker) are gone. A `Thread` released them some time after, and a test that
    /// found the marker still alive failed under load.
    private var thread = pthread_t()

    /// Starts reading `source` through `reader` (which the thread alone uses until `finish`).
    init(reader: BlockReader, marker: LineMarker, source: ByteSource) {
        self.reader = reader
        self.marker = marker
        self.source = source
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 1 << 20)
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(
            &thread, &attributes,
            { context in
                let me = Unmanaged<ScanAhead>.fromOpaque(context!).takeRetainedValue()
                me.work()
                return nil
            }, context)
        pthread_attr_destroy(&attributes)
        precondition(rc == 0, "cannot start the reading thread (pthread_create: \(rc))")
    }

    /// The next scanned block in input order, nil at the end of input; rethrows a failed read
    /// after the blocks read before it. Hand each block back with `recycle` once parsed.
    func next() throws -> Block? {
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

    func recycle(_ s: Block) {
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
        pthread_join(thread, nil)
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
            let slot: Block
            if let s = spare.popLast() {
                slot = s
            } else {
                made += 1
                slot = Block(capacity: reader.bufferSize)
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

import CInflate
import Foundation

/// Inflates a gzip stream (one or more concatenated members, like `gzip -dc`) read from a file
/// descriptor. A truncated or corrupt stream throws `InputError` naming the compressed byte offset;
/// everything inflated before that point has already been handed out.
///
/// With a second CPU to run on, inflating runs on a thread of its own, a few chunks ahead of the
/// reader (`InflateAhead`), so decompression and parsing overlap; the bytes and errors handed out
/// are the same as inflating on the caller's thread.
public final class GzipReader {
    private let inflater: Inflater
    let ahead: InflateAhead?

    public init(file: FileReader, prefix: [UInt8] = [], backend: InflateBackend = .preferred, overlap: Bool? = nil)
        throws
    {
        inflater = try Inflater(file: file, prefix: prefix, backend: backend)
        let useThread = overlap ?? Machine.mayUseSecondThread
        ahead = useThread ? InflateAhead(inflater) : nil
    }

    deinit { ahead?.stop() }

    public var name: String { inflater.name }

    /// The library inflating this input.
    public var backend: InflateBackend { inflater.backend }

    /// Closes the descriptor (not stdin).
    public func close() {
        ahead?.stop()
        if inflater.fd > 2 { _ = Glibc.close(inflater.fd) }
    }

    /// Compressed bytes consumed so far (by what was handed out, when inflating ahead).
    public var compressedOffset: Int { ahead?.compressedOffset ?? inflater.compressedOffset }

    /// Fills `p` with up to `capacity` inflated bytes; 0 at the clean end of the last member.
    public func read(into p: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        if let ahead { return try ahead.read(into: p, capacity: capacity) }
        return try inflater.read(into: p, capacity: capacity)
    }
}

/// Inflates on a thread of its own into a ring of chunks, at most `slots` ahead of the reader:
/// memory stays bounded (4 MB) whatever the input. An error is queued after the data before it.
final class InflateAhead: @unchecked Sendable {
    private struct Chunk {
        var bytes: UnsafeMutablePointer<UInt8>
        var count = 0
        var offset = 0
        var error: Error?
        var end = false
    }
    static let slots = 4
    static let chunkSize = 1 << 20
    private var ring: [Chunk]
    private var head = 0  // next chunk to read
    private var filled = 0  // chunks ready
    private var readInChunk = 0
    private var stopped = false
    private var producerDone = false
    private var consumedOffset = 0
    private let cond = NSCondition()
    private let inflater: Inflater

    init(_ inflater: Inflater) {
        self.inflater = inflater
        ring = (0..<InflateAhead.slots).map { _ in Chunk(bytes: .allocate(capacity: InflateAhead.chunkSize)) }
        // the thread holds this until it ends (the end of the input, an error or `stop`); nothing
        // here holds the thread, so no cycle keeps the ring alive afterwards
        let t = Thread { [self] in produce() }
        t.stackSize = 1 << 20
        t.start()
    }

    deinit {
        for c in ring { c.bytes.deallocate() }
    }

    var compressedOffset: Int {
        cond.lock()
        defer { cond.unlock() }
        return consumedOffset
    }

    private func produce() {
        var tail = 0
        while true {
            cond.lock()
            while filled == InflateAhead.slots && !stopped { cond.wait() }
            if stopped {
                producerDone = true
                cond.broadcast()
                cond.unlock()
                return
            }
            let bytes = ring[tail].bytes
            cond.unlock()
            var chunk = Chunk(bytes: bytes)
            do {
                // fill the chunk (several inflate calls), so the reader wakes once a megabyte
                while chunk.count < InflateAhead.chunkSize {
                    let n = try inflater.read(into: bytes + chunk.count, capacity: InflateAhead.chunkSize - chunk.count)
                    if n == 0 {
                        chunk.end = true
                        break
                    }
                    chunk.count += n
                }
            } catch {
                chunk.error = error
            }
            chunk.offset = inflater.compressedOffset
            cond.lock()
            ring[tail] = chunk
            filled += 1
            cond.broadcast()
            let last = chunk.end || chunk.error != nil
            if last { producerDone = true }
            cond.unlock()
            if last { return }
            tail = (tail + 1) % InflateAhead.slots
        }
    }

    func read(into p: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        cond.lock()
        defer { cond.unlock() }
        while true {
            while filled == 0 && !producerDone { cond.wait() }
            guard filled > 0 else { return 0 }
            let c = ring[head]
            let left = c.count - readInChunk
            if left > 0 {
                let k = min(left, capacity)
                cond.unlock()
                p.update(from: c.bytes + readInChunk, count: k)
                cond.lock()
                readInChunk += k
                if readInChunk == c.count && c.error == nil && !c.end { release() }
                return k
            }
            if let e = c.error {
                consumedOffset = c.offset
                ring[head].error = nil  // thrown once; then the input is over, as on one thread
                ring[head].end = true
                throw e
            }
            if c.end {
                consumedOffset = c.offset
                return 0
            }
            release()
        }
    }

    /// The chunk at `head` is read: hand it back to the producer.
    private func release() {
        consumedOffset = ring[head].offset
        head = (head + 1) % InflateAhead.slots
        readInChunk = 0
        filled -= 1
        cond.broadcast()
    }

    /// Ends the thread (an input abandoned before its end) and waits for it.
    func stop() {
        cond.lock()
        stopped = true
        cond.broadcast()
        while !producerDone { cond.wait() }
        cond.unlock()
    }
}

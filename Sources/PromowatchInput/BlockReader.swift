import CByteSearch
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Hands out large blocks that hold only whole lines, each ending in `\n` (a last line without
/// a newline gets one). The consumer splits the block with `memchr`; nothing is copied per line.
///
/// Memory is bounded by `capacity`: the tail of a line longer than `maxLineLength` is dropped
/// until its newline and counted in `oversizedLines` (a line that is longer but arrives whole in
/// one block is left for the consumer to measure and skip).
public final class BlockReader {
    public let maxLineLength: Int
    public let capacity: Int
    private var buffer: UnsafeMutablePointer<UInt8>
    private var start = 0
    private var end = 0
    private var discarding = false
    private var eof = false
    private var clean = 0  // leading bytes known to hold no newline
    public private(set) var oversizedLines = 0
    /// Bytes read from the source (after decompression).
    public private(set) var bytesRead = 0
    /// Streaming: while no input is ready on a pipe, call `onIdle` every `idleMilliseconds`.
    public var onIdle: (() -> Void)?
    public var idleMilliseconds: Int32 = 250

    public init(maxLineLength: Int = 1 << 20, blockSize: Int = 4 << 20) {
        self.maxLineLength = maxLineLength
        capacity = max(blockSize, maxLineLength * 2) + 1
        buffer = .allocate(capacity: capacity + 1)
    }

    deinit { buffer.deallocate() }

    private func waitReadable(_ source: ByteSource, _ idle: () -> Void) {
        guard case .plain(let f, let prefix) = source, prefix.isEmpty else { return }
        var pfd = pollfd(fd: f.fd, events: Int16(POLLIN), revents: 0)
        while true {
            let r = poll(&pfd, 1, idleMilliseconds)
            if r != 0 { return }  // readable, hung up or error: read() tells which
            idle()
        }
    }

    /// Starts a new input (keeps counters).
    public func reset() {
        start = 0
        end = 0
        clean = 0
        discarding = false
        eof = false
    }

    /// Bytes of an unfinished last line left in the buffer (dropped when input fails mid-line).
    public var pendingBytes: Int { end - start }

    /// The size of a buffer `exchange` takes.
    public var bufferSize: Int { capacity + 1 }

    /// Hands the buffer holding the block just returned to the caller, who keeps it (and the
    /// block in it) from now on, and goes on in `fresh` (`bufferSize` bytes, which the reader
    /// owns from now on): the bytes read past the block move there, nothing else is copied.
    public func exchange(_ fresh: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let old = buffer
        let rest = end - start
        if rest > 0 { fresh.update(from: old + start, count: rest) }
        buffer = fresh
        end = rest
        start = 0
        return old
    }

    /// The next block of whole lines, or nil at end of input. The block stays valid until the next call.
    /// Returns as soon as at least one whole line is buffered, so a live pipe is not held back.
    public func next(from source: inout ByteSource) throws -> UnsafeBufferPointer<UInt8>? {
        while true {
            if start > 0 {
                let rest = end - start
                if rest > 0 { memmove(buffer, buffer + start, rest) }
                end = rest
                start = 0
            }
            if discarding {
                if end > 0, let nl = memchr(buffer, 0x0A, end) {
                    discarding = false
                    oversizedLines += 1
                    start = UnsafeMutablePointer<UInt8>(nl.assumingMemoryBound(to: UInt8.self)) - buffer + 1
                    clean = 0
                    continue
                }
                end = 0
                clean = 0
            } else if end > clean {
                if let nl = promowatch_memrchr(buffer + clean, 0x0A, end - clean) {
                    let last = UnsafePointer<UInt8>(nl.assumingMemoryBound(to: UInt8.self)) - UnsafePointer(buffer)
                    start = last + 1
                    clean = end - start
                    return UnsafeBufferPointer(start: UnsafePointer(buffer), count: last + 1)
                }
                clean = end
                if end >= maxLineLength {
                    // no newline within the limit: drop this line up to its end
                    discarding = true
                    end = 0
                    clean = 0
                }
            }
            if eof {
                if discarding {
                    discarding = false
                    oversizedLines += 1
                    return nil
                }
                guard end > 0 else { return nil }
                buffer[end] = 0x0A  // a last line without newline
                let len = end + 1
                end = 0
                clean = 0
                return UnsafeBufferPointer(start: UnsafePointer(buffer), count: len)
            }
            if let idle = onIdle { waitReadable(source, idle) }
            let n = try source.read(into: buffer + end, capacity: capacity - 1 - end)
            bytesRead += n
            if n == 0 { eof = true } else { end += n }
        }
    }
}

import CZlib
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Inflates a gzip stream (one or more concatenated members, like `gzip -dc`) read from a file
/// descriptor. A truncated or corrupt stream throws `InputError` naming the compressed byte offset;
/// everything inflated before that point has already been handed out.
public final class GzipReader {
    private var file: FileReader
    private var stream = z_stream()
    private let inBuffer: UnsafeMutablePointer<UInt8>
    private let inCapacity = 1 << 18
    private var inputEOF = false
    private var betweenMembers = false
    private var finished = false
    private var fed = 0

    public init(file: FileReader, prefix: [UInt8] = []) throws {
        self.file = file
        inBuffer = .allocate(capacity: inCapacity)
        let rc = promowatch_inflate_init_gzip(&stream)
        guard rc == Z_OK else {
            inBuffer.deallocate()
            throw InputError(input: file.name, kind: .corruptGzip(detail: "zlib init failed (\(rc))"), offset: 0)
        }
        if !prefix.isEmpty {
            prefix.withUnsafeBufferPointer { inBuffer.update(from: $0.baseAddress!, count: $0.count) }
            stream.next_in = inBuffer
            stream.avail_in = UInt32(prefix.count)
            fed = prefix.count
        }
    }

    deinit {
        inflateEnd(&stream)
        inBuffer.deallocate()
    }

    public var name: String { file.name }

    /// Closes the descriptor (not stdin).
    public func close() { if file.fd > 2 { _ = Glibc.close(file.fd) } }

    /// Compressed bytes consumed so far.
    public var compressedOffset: Int { fed - Int(stream.avail_in) }

    private func refill() throws {
        guard stream.avail_in == 0, !inputEOF else { return }
        let n = try file.read(into: inBuffer, capacity: inCapacity)
        if n == 0 { inputEOF = true }
        fed += n
        stream.next_in = inBuffer
        stream.avail_in = UInt32(n)
    }

    private func fail(_ kind: InputError.Kind) -> InputError {
        finished = true
        return InputError(input: file.name, kind: kind, offset: compressedOffset)
    }

    /// Fills `p` with up to `capacity` inflated bytes; 0 at the clean end of the last member.
    public func read(into p: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        if finished { return 0 }
        while true {
            try refill()
            if betweenMembers {
                // skip zero padding some tools append; anything else must be a new member
                while stream.avail_in > 0 && stream.next_in.pointee == 0 {
                    stream.next_in += 1
                    stream.avail_in -= 1
                }
                if stream.avail_in == 0 {
                    if inputEOF {
                        finished = true
                        return 0
                    }
                    continue
                }
                guard stream.next_in.pointee == 0x1F else { throw fail(.trailingGarbage) }
                inflateReset(&stream)
                betweenMembers = false
            }
            stream.next_out = p
            stream.avail_out = UInt32(capacity)
            let rc = inflate(&stream, Z_NO_FLUSH)
            let produced = capacity - Int(stream.avail_out)
            switch rc {
            case Z_STREAM_END:
                betweenMembers = true
                if produced > 0 { return produced }
            case Z_OK:
                if produced > 0 { return produced }
                if stream.avail_in == 0 && inputEOF { throw fail(.truncatedGzip) }
            case Z_BUF_ERROR:
                if produced > 0 { return produced }
                if stream.avail_in == 0 && inputEOF { throw fail(.truncatedGzip) }
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw fail(.corruptGzip(detail: detail))
            }
        }
    }
}

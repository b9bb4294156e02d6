import CInflate
import CZlib
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Which library inflates gzip input. ISA-L's igzip (Debian `libisal-dev`, loaded at run time)
/// is several times faster than zlib; zlib is always there. `PROMOWATCH_INFLATE=zlib` forces
/// zlib (benchmarks compare the two; tests check they hand out the same bytes and errors).
public enum InflateBackend: String, Sendable {
    case zlib
    case isal

    /// ISA-L when this process can load it and the environment does not ask for zlib.
    public static var preferred: InflateBackend {
        if let v = getenv("PROMOWATCH_INFLATE"), String(cString: v) == "zlib" { return .zlib }
        return pw_isal_available() != 0 ? .isal : .zlib
    }
}

/// Inflates a gzip stream (one or more concatenated members, like `gzip -dc`) from a file
/// descriptor, on the calling thread. A truncated or corrupt stream throws `InputError` naming the
/// compressed byte offset; everything inflated before that point has already been handed out.
final class Inflater {
    private var file: FileReader
    let backend: InflateBackend
    private var stream = z_stream()
    private var isal: UnsafeMutableRawPointer?
    private let inBuffer: UnsafeMutablePointer<UInt8>
    private let inCapacity = 1 << 18
    private var nextIn: UnsafePointer<UInt8>
    private var availIn: UInt32 = 0
    private var inputEOF = false
    private var betweenMembers = false
    private var finished = false
    private var fed = 0

    init(file: FileReader, prefix: [UInt8], backend: InflateBackend) throws {
        self.file = file
        inBuffer = .allocate(capacity: inCapacity)
        nextIn = UnsafePointer(inBuffer)
        var chosen = backend
        if chosen == .isal {
            isal = pw_isal_new()
            if isal == nil { chosen = .zlib }
        }
        self.backend = chosen
        if chosen == .zlib {
            let rc = promowatch_inflate_init_gzip(&stream)
            guard rc == Z_OK else {
                inBuffer.deallocate()
                throw InputError(input: file.name, kind: .corruptGzip(detail: "zlib init failed (\(rc))"), offset: 0)
            }
        }
        if !prefix.isEmpty {
            prefix.withUnsafeBufferPointer { inBuffer.update(from: $0.baseAddress!, count: $0.count) }
            availIn = UInt32(prefix.count)
            fed = prefix.count
        }
    }

    deinit {
        if backend == .zlib { inflateEnd(&stream) }
        pw_isal_free(isal)
        inBuffer.deallocate()
    }

    var name: String { file.name }
    var fd: Int32 { file.fd }

    /// Compressed bytes consumed so far.
    var compressedOffset: Int { fed - Int(availIn) }

    private func refill() throws {
        guard availIn == 0, !inputEOF else { return }
        let n = try file.read(into: inBuffer, capacity: inCapacity)
        if n == 0 { inputEOF = true }
        fed += n
        nextIn = UnsafePointer(inBuffer)
        availIn = UInt32(n)
    }

    private func fail(_ kind: InputError.Kind) -> InputError {
        finished = true
        return InputError(input: file.name, kind: kind, offset: compressedOffset)
    }

    /// An error met after some output of the same call: thrown by the next call, once that
    /// output is handed out (how much comes before an error must not depend on read sizes).
    private var pending: InputError?

    /// One step of the backend: output produced, whether the member ended, or an error.
    private func step(_ p: UnsafeMutablePointer<UInt8>, _ capacity: Int) throws -> (produced: Int, memberEnd: Bool) {
        switch backend {
        case .zlib:
            stream.next_in = UnsafeMutablePointer(mutating: nextIn)
            stream.avail_in = availIn
            stream.next_out = p
            stream.avail_out = UInt32(capacity)
            let rc = inflate(&stream, Z_NO_FLUSH)
            nextIn = UnsafePointer(stream.next_in)
            availIn = stream.avail_in
            let produced = capacity - Int(stream.avail_out)
            switch rc {
            case Z_STREAM_END: return (produced, true)
            case Z_OK, Z_BUF_ERROR: return (produced, false)
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                return try failAfter(produced, .corruptGzip(detail: detail))
            }
        case .isal:
            var input: UnsafePointer<UInt8>? = nextIn
            var output: UnsafeMutablePointer<UInt8>? = p
            var outLeft = UInt32(capacity)
            let rc = pw_isal_inflate(isal, &input, &availIn, &output, &outLeft)
            nextIn = input!
            let produced = capacity - Int(outLeft)
            switch rc {
            case 0: return (produced, false)
            case 1: return (produced, true)
            case -1: return try failAfter(produced, .corruptGzip(detail: "invalid deflate data"))
            case -2: return try failAfter(produced, .corruptGzip(detail: "not a gzip member or an unsupported method"))
            case -3: return try failAfter(produced, .corruptGzip(detail: "incorrect data check"))
            default: return try failAfter(produced, .corruptGzip(detail: "ISA-L inflate error"))
            }
        }
    }

    private func failAfter(_ produced: Int, _ kind: InputError.Kind) throws -> (produced: Int, memberEnd: Bool) {
        guard produced > 0 else { throw fail(kind) }
        // the output first; the error (at this offset) on the next call
        pending = InputError(input: file.name, kind: kind, offset: compressedOffset)
        return (produced, false)
    }

    /// Fills `p` with up to `capacity` inflated bytes; 0 at the clean end of the last member.
    func read(into p: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        if let e = pending {
            pending = nil
            finished = true
            throw e
        }
        if finished { return 0 }
        while true {
            try refill()
            if betweenMembers {
                // skip zero padding some tools append; anything else must be a new member
                while availIn > 0 && nextIn.pointee == 0 {
                    nextIn += 1
                    availIn -= 1
                }
                if availIn == 0 {
                    if inputEOF {
                        finished = true
                        return 0
                    }
                    continue
                }
                guard nextIn.pointee == 0x1F else { throw fail(.trailingGarbage) }
                if backend == .zlib { inflateReset(&stream) } else { pw_isal_reset(isal) }
                betweenMembers = false
            }
            let (produced, memberEnd) = try step(p, capacity)
            if memberEnd {
                betweenMembers = true
                if produced > 0 { return produced }
                continue
            }
            if produced > 0 { return produced }
            if availIn == 0 && inputEOF { throw fail(.truncatedGzip) }
        }
    }
}

/// What this process may run on.
public enum Machine {
    /// CPUs in this process's affinity mask (`taskset -c 0` makes it 1).
    public static var usableCPUs: Int { Int(pw_usable_cpus()) }

    /// Whether a batch may use a second thread (`PROMOWATCH_THREADS=1` keeps everything on one).
    public static var mayUseSecondThread: Bool {
        if let v = getenv("PROMOWATCH_THREADS"), String(cString: v) == "1" { return false }
        return usableCPUs > 1
    }
}

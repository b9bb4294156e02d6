#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One input: stdin or a file, plain or gzip (detected by the magic bytes `1f 8b`, not by name).
/// An enum, not an existential, so the per-block call is direct.
public enum ByteSource {
    case plain(FileReader, prefix: [UInt8])
    case gzip(GzipReader)

    public var isGzip: Bool {
        if case .gzip = self { return true }
        return false
    }

    /// Opens `path` (`-` = stdin) and sniffs its first bytes; every byte read from the file is
    /// also appended to `spool` when one is given.
    public static func open(_ path: String, spool: InputSpool? = nil) throws -> ByteSource {
        let fd: Int32
        let name: String
        if path == "-" {
            fd = 0
            name = "<stdin>"
        } else {
            fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw InputError(input: path, kind: .open(errno: errno), offset: 0) }
            name = path
        }
        var file = FileReader(fd: fd, name: name)
        file.spool = spool
        // Sniff up to two bytes (a pipe may hand them out one at a time).
        var head = [UInt8](repeating: 0, count: 2)
        var got = 0
        while got < 2 {
            let n = try head.withUnsafeMutableBufferPointer {
                try file.read(into: $0.baseAddress! + got, capacity: 2 - got)
            }
            if n == 0 { break }
            got += n
        }
        head.removeLast(2 - got)
        if got == 2 && head[0] == 0x1F && head[1] == 0x8B {
            return .gzip(try GzipReader(file: file, prefix: head))
        }
        return .plain(file, prefix: head)
    }

    /// Bytes consumed from the file so far (for gzip, the compressed position): progress.
    public var position: Int {
        switch self {
        case .plain(let f, let prefix): return f.offset - prefix.count
        case .gzip(let g): return g.compressedOffset
        }
    }

    public var name: String {
        switch self {
        case .plain(let f, _): return f.name
        case .gzip(let g): return g.name
        }
    }

    @inline(__always)
    public mutating func read(into p: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        switch self {
        case .plain(var f, let prefix):
            if !prefix.isEmpty {
                let k = min(prefix.count, capacity)
                prefix.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: k) }
                self = .plain(f, prefix: Array(prefix.dropFirst(k)))
                return k
            }
            let n = try f.read(into: p, capacity: capacity)
            self = .plain(f, prefix: [])
            return n
        case .gzip(let g):
            return try g.read(into: p, capacity: capacity)
        }
    }

    /// Closes the descriptor (not stdin).
    public func close() {
        switch self {
        case .plain(let f, _): if f.fd > 2 { _ = Glibc.close(f.fd) }
        case .gzip(let g): g.close()
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a file descriptor with plain `read(2)`, retrying on EINTR.
public struct FileReader {
    public let fd: Int32
    public let name: String
    public private(set) var offset = 0
    /// Where every byte read is copied as well (standard input of a batch, which may be read
    /// again: `InputSpool`).
    public var spool: InputSpool?

    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    public mutating func read(into p: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        while true {
            let n = Glibc.read(fd, p, capacity)
            if n >= 0 {
                offset += n
                if let s = spool { s.append(p, count: n) }
                return n
            }
            if errno == EINTR { continue }
            throw InputError(input: name, kind: .read(errno: errno), offset: offset)
        }
    }
}

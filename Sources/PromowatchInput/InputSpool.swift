#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A copy of a stream's bytes, as read, in a temporary file that has no name: what lets a batch
/// read standard input (`kubectl logs -l ... | promowatch analyze`) a second time, as it reads
/// files, when the input was not in time order. The file is unlinked as soon as it is made, so
/// nothing is left behind however the process ends; it is read again through `path`. Past
/// `limit` bytes, or on the first failed write (a full disk), the copy is given up and its space
/// freed: the batch then keeps what its one reading found, as before. Like `sort`, it writes to
/// `$TMPDIR` (else `/tmp`).
public final class InputSpool {
    private var fd: Int32
    public let limit: Int
    public private(set) var bytes = 0
    /// Why the copy was given up, or nil while it holds every byte read.
    public private(set) var gaveUp: String?

    /// nil when no temporary file can be made (the batch reads once, as before).
    public init?(limit: Int, directory: String? = nil) {
        let dir = directory ?? Self.temporaryDirectory()
        var template = Array((dir + "/promowatch-stdin-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.fd = fd
        self.limit = limit
    }

    deinit { if fd >= 0 { _ = close(fd) } }

    static func temporaryDirectory() -> String {
        if let t = getenv("TMPDIR"), t.pointee != 0 { return String(cString: t) }
        return "/tmp"
    }

    /// A path that opens the copy afresh, from its first byte (the file has no name of its own);
    /// nil once it was given up.
    public var path: String? { fd >= 0 && gaveUp == nil ? "/proc/self/fd/\(fd)" : nil }

    /// Appends what was just read.
    public func append(_ p: UnsafePointer<UInt8>, count: Int) {
        guard fd >= 0, gaveUp == nil, count > 0 else { return }
        guard bytes + count <= limit else {
            giveUp("the input is longer than input.stdin_copy_megabytes")
            return
        }
        var done = 0
        while done < count {
            let n = write(fd, p + done, count - done)
            if n > 0 {
                done += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                giveUp("writing the copy failed: \(n < 0 ? String(cString: strerror(errno)) : "nothing written")")
                return
            }
        }
        bytes += count
    }

    private func giveUp(_ reason: String) {
        gaveUp = reason
        _ = ftruncate(fd, 0)
        _ = close(fd)
        fd = -1
    }
}

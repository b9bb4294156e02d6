/// Errors reading input. Each names the input and, for gzip, the compressed byte offset.
public struct InputError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case open(errno: Int32)
        case read(errno: Int32)
        case truncatedGzip
        case corruptGzip(detail: String)
        case trailingGarbage
        case utf16
    }
    public var input: String
    public var kind: Kind
    /// Compressed byte offset at which the problem was detected (gzip), or bytes read so far.
    public var offset: Int

    public init(input: String, kind: Kind, offset: Int) {
        self.input = input
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        switch kind {
        case .open(let e): return "\(input): cannot open: \(errnoText(e))"
        case .read(let e): return "\(input): read error at byte \(offset): \(errnoText(e))"
        case .truncatedGzip:
            return "\(input): gzip data is truncated (unexpected end of file at compressed byte offset \(offset))"
        case .corruptGzip(let d): return "\(input): gzip data is corrupt at compressed byte offset \(offset): \(d)"
        case .utf16:
            return
                "\(input): the input is UTF-16 text (as Windows PowerShell 5.1 writes with `>`); convert it to UTF-8 first, e.g. `iconv -f UTF-16 -t UTF-8`"
        case .trailingGarbage:
            return "\(input): data after the last gzip member at compressed byte offset \(offset) is not gzip"
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

func errnoText(_ e: Int32) -> String {
    guard let s = strerror(e) else { return "errno \(e)" }
    return String(cString: s)
}

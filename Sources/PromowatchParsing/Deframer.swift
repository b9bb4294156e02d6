import PromowatchCore

/// One logical record after the outer framing is removed.
public struct Frame {
    public var payload: UnsafePointer<UInt8>
    public var length: Int
    /// Timestamp from the framing (kubectl `--timestamps`, CRI, Docker `time`), 0 when none.
    /// Parsed only when asked for: most lines are discarded before their time matters.
    public var time: Int64 {
        if parsedTime != 0 { return parsedTime }
        guard let b = timeBytes, timeLength > 0 else { return 0 }
        return ByteNumbers.parseRFC3339(b, timeLength)?.nanos ?? 0
    }
    /// The framing carried a timestamp (readable or not).
    public var hasTime: Bool { parsedTime != 0 || timeLength > 0 }
    var parsedTime: Int64 = 0
    var timeBytes: UnsafePointer<UInt8>? = nil
    var timeLength = 0
    /// `pod/<pod>/<container>` from kubectl `--prefix`, as bytes inside the line (length 0 when none).
    public var source: UnsafePointer<UInt8>?
    public var sourceLength: Int
    /// The payload was rebuilt (Docker unescaping, CRI/Docker partial lines joined) rather than
    /// being a slice of the input line.
    public var rebuilt: Bool

    init(
        payload: UnsafePointer<UInt8>, length: Int, time: Int64, source: UnsafePointer<UInt8>?, sourceLength: Int,
        rebuilt: Bool
    ) {
        self.payload = payload
        self.length = length
        self.parsedTime = time
        self.source = source
        self.sourceLength = sourceLength
        self.rebuilt = rebuilt
    }

    /// A rebuilt frame whose timestamp is still the raw bytes at `timeBytes`.
    init(
        payload: UnsafePointer<UInt8>, length: Int, timeBytes: UnsafePointer<UInt8>?, timeLength: Int,
        source: UnsafePointer<UInt8>?, sourceLength: Int, rebuilt: Bool
    ) {
        self.init(
            payload: payload, length: length, timeBytes: timeBytes, timeLength: timeLength, source: source,
            sourceLength: sourceLength)
        self.rebuilt = rebuilt
    }

    /// A frame whose timestamp is still the raw bytes at `timeBytes`.
    init(
        payload: UnsafePointer<UInt8>, length: Int, timeBytes: UnsafePointer<UInt8>?, timeLength: Int,
        source: UnsafePointer<UInt8>?, sourceLength: Int
    ) {
        self.payload = payload
        self.length = length
        self.timeBytes = timeBytes
        self.timeLength = timeLength
        self.source = source
        self.sourceLength = sourceLength
        self.rebuilt = false
    }
}

/// Length of an RFC3339-shaped token at `p` (digits and separators where RFC3339 has them,
/// up to the next space), or nil. Cheap: the value itself is parsed only when needed.
@inline(__always)
func rfc3339TokenLength(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
    guard n > 20, Bytes.isDigit(p[0]), Bytes.isDigit(p[3]), p[4] == UInt8(ascii: "-"), p[7] == UInt8(ascii: "-"),
        p[10] == UInt8(ascii: "T"), p[13] == UInt8(ascii: ":"), p[16] == UInt8(ascii: ":")
    else { return nil }
    var i = 19
    let limit = min(n, 40)
    // the token ends at the first blank: a tab after the time (zap's console columns) is no framing
    while i < limit && p[i] != 0x20 && p[i] != 0x09 { i += 1 }
    return i < n && p[i] == 0x20 ? i : nil
}

/// Removes the outer layers of contract section 1 — kubectl `--prefix` and `--timestamps` in
/// either order, CRI (`P` partials joined up to the next `F`), Docker json-file — detected per
/// line, in any combination. Partial lines are joined per source and stream.
public final class Deframer {
    public let maxRecordLength: Int
    private let scratch: UnsafeMutablePointer<UInt8>  // Docker-unescaped payload
    private let joinBuffer: UnsafeMutablePointer<UInt8>  // partials joined with their final part
    private let sourceBuffer: UnsafeMutablePointer<UInt8>
    private var pending: [UInt64: Pending] = [:]
    public static let maxPendingStreams = 4096
    /// Partial records dropped because they grew past `maxRecordLength` or too many streams were open.
    public private(set) var droppedPartials = 0

    struct Pending {
        var bytes: [UInt8]
        var time: Int64
        var source: [UInt8]
        var overflow: Bool
    }

    public enum Result {
        case record(Frame)
        /// A partial line (CRI `P`, Docker 16 KiB split) that was buffered.
        case partial
        /// A line that is framing only (a `tail -F` header `==> path <==`): no record.
        case skipped
    }

    /// The `tail -F` file the lines come from (hash of the header's path; 0 = none). Partial
    /// lines join only within one file, one container and one stream.
    private var tailFile: UInt64 = 0
    /// Docker's json-file driver splits a line into entries of exactly this many bytes without
    /// a trailing newline; only such an entry is a partial.
    public static let dockerSplitLength = 16 * 1024
    /// `kubectl logs --timestamps` on a long line: the kubelet printed a timestamp before each
    /// chunk it copied, 16 KiB node-split entries (kubernetes#77603) or its 4 KiB copy buffer
    /// (kubernetes#113481); both are multiples of this.
    public static let kubeletChunkLength = 4 * 1024

    public init(maxRecordLength: Int = 1 << 20) {
        self.maxRecordLength = maxRecordLength
        scratch = .allocate(capacity: maxRecordLength + 16)
        joinBuffer = .allocate(capacity: maxRecordLength + 16)
        sourceBuffer = .allocate(capacity: 512)
    }

    deinit {
        scratch.deallocate()
        joinBuffer.deallocate()
        sourceBuffer.deallocate()
    }

    /// Deframes `p[0..<n]` (no trailing newline). The frame's pointers stay valid until the next call.
    public func deframe(_ p0: UnsafePointer<UInt8>, _ n0: Int) -> Result {
        var p = p0
        var n = n0
        // NUL runs (holes left by copytruncate rotation) and a UTF-8 byte order mark are no text;
        // `==> path <==` is a `tail -F` header. One compare of the first byte for every other line.
        // (a hole ends where the writer goes on, so NULs lead a line; trailing ones go with them)
        if n > 0, case let c0 = p[0], c0 == 0 || c0 == 0xEF || c0 == UInt8(ascii: "=") {
            if let (skip, length) = Deframer.trim(p, n) {
                p += skip
                n = length
            } else {
                tailFile = ByteHash.hash(p + 4, n - 8) | 1
                return .skipped
            }
        }
        var afterTimestamp: UnsafePointer<UInt8>? = nil
        var timeBytes: UnsafePointer<UInt8>? = nil
        var timeLength = 0
        var src: UnsafePointer<UInt8>? = nil
        var srcLen = 0
        var layers = 0
        while layers < 4 {
            layers += 1
            // kubectl --prefix: "[pod/<pod>/<container>] "
            if n > 6 && p[0] == UInt8(ascii: "[") && Bytes.hasPrefix(p + 1, n - 1, "pod/") {
                if let close = Bytes.find(UInt8(ascii: "]"), p, from: 1, end: min(n, 512)),
                    close + 1 < n || close + 1 == n
                {
                    src = p + 1
                    srcLen = close - 1
                    let skip = close + 1 < n && p[close + 1] == 0x20 ? close + 2 : close + 1
                    p += skip
                    n -= skip
                    continue
                }
            }
            // RFC3339 timestamp followed by a space: kubectl --timestamps or CRI
            if let len = rfc3339TokenLength(p, n) {
                timeBytes = p
                timeLength = len
                p += len + 1
                n -= len + 1
                if n0 > Deframer.kubeletChunkLength { afterTimestamp = p }
                // CRI: "<stdout|stderr> <tags> <payload>", tags a `:`-separated list led by F or P
                if n >= 8 && (Bytes.hasPrefix(p, n, "stdout ") || Bytes.hasPrefix(p, n, "stderr ")),
                    p[7] == UInt8(ascii: "F") || p[7] == UInt8(ascii: "P"),
                    n == 8 || p[8] == 0x20 || p[8] == UInt8(ascii: ":")
                {
                    let partial = p[7] == UInt8(ascii: "P")
                    let stream = p[3]  // 'o' or 'e'
                    var tagsEnd = 8
                    if n > 8 && p[8] == UInt8(ascii: ":") { tagsEnd = Bytes.find(0x20, p, from: 8, end: n) ?? n }
                    let body = tagsEnd < n ? p + tagsEnd + 1 : p + n
                    let bodyLen = tagsEnd < n ? n - tagsEnd - 1 : 0
                    if !partial && pending.isEmpty {
                        return .record(
                            Frame(
                                payload: body, length: bodyLen, timeBytes: timeBytes, timeLength: timeLength,
                                source: src, sourceLength: srcLen))
                    }
                    let time = ByteNumbers.parseRFC3339(timeBytes!, timeLength)?.nanos ?? 0
                    return join(
                        body, bodyLen, partial: partial, stream: stream, time: time, source: src, sourceLength: srcLen)
                }
                continue
            }
            // Docker json-file: {"log":"...","stream":"stdout","time":"..."}, any key order and spacing
            // (dockerd's own `{"log":"` anywhere; other spellings only on a line of its own, as node
            // files and `tail -F` give them: kubectl never prints Docker framing)
            if n > 9 && p[0] == UInt8(ascii: "{"),
                Bytes.hasPrefix(p, n, "{\"log\":\"") || (layers == 1 && Deframer.mayBeDocker(p, n))
            {
                if let r = docker(p, n, source: src, sourceLength: srcLen) { return r }
            }
            break
        }
        if let after = afterTimestamp, (p + n) - after > Deframer.kubeletChunkLength,
            let r = withoutKubeletTimestamps(
                p, n, chunkStart: after, timeBytes: timeBytes, timeLength: timeLength,
                source: src, sourceLength: srcLen)
        {
            return r
        }
        return .record(
            Frame(
                payload: p, length: n, timeBytes: timeBytes, timeLength: timeLength, source: src, sourceLength: srcLen))
    }

    /// Leading and trailing NUL runs and a byte order mark removed: the offset and length left;
    /// nil for a `tail -F` header `==> path <==` (the path is `p[4..<n-4]`).
    @inline(never)
    static func trim(_ p: UnsafePointer<UInt8>, _ n0: Int) -> (Int, Int)? {
        if n0 >= 9, Bytes.hasPrefix(p, n0, "==> "), p[n0 - 4] == 0x20, p[n0 - 3] == UInt8(ascii: "<"),
            p[n0 - 2] == UInt8(ascii: "="), p[n0 - 1] == UInt8(ascii: "=")
        {
            return nil
        }
        var s = 0
        var n = n0
        while s < n && p[s] == 0 { s += 1 }
        while n > s && p[n - 1] == 0 { n -= 1 }
        if n - s >= 3 && p[s] == 0xEF && p[s + 1] == 0xBB && p[s + 2] == 0xBF { s += 3 }
        return (s, n - s)
    }

    /// `kubectl logs --timestamps` on a long line prints each chunk's own timestamp before it,
    /// inside the line: at 16 KiB (the node's split, kubernetes#77603) or 4 KiB (the kubelet's
    /// copy buffer, kubernetes#113481) past the previous one. Removes them, looking only at those
    /// offsets; nil when the line has none.
    @inline(never)
    private func withoutKubeletTimestamps(
        _ p: UnsafePointer<UInt8>, _ n: Int, chunkStart: UnsafePointer<UInt8>,
        timeBytes: UnsafePointer<UInt8>?, timeLength: Int,
        source: UnsafePointer<UInt8>?, sourceLength: Int
    ) -> Result? {
        let end = p + n
        var from = p
        var w = 0
        var boundary = chunkStart + Deframer.kubeletChunkLength
        while boundary < end {
            guard boundary > from, let len = rfc3339TokenLength(boundary, end - boundary) else {
                boundary += Deframer.kubeletChunkLength
                continue
            }
            let k = min(boundary - from, maxRecordLength - w)
            (scratch + w).update(from: from, count: k)
            w += k
            from = boundary + len + 1
            boundary = from + Deframer.kubeletChunkLength
        }
        guard from != p else { return nil }
        let k = min(end - from, maxRecordLength - w)
        (scratch + w).update(from: from, count: k)
        w += k
        return .record(
            Frame(
                payload: UnsafePointer(scratch), length: w, timeBytes: timeBytes, timeLength: timeLength,
                source: source, sourceLength: sourceLength, rebuilt: true))
    }

    /// Whether a JSON line's first key is one of Docker's (`log`, `stream`, `time`, `attrs`): only
    /// then is the whole object read as Docker framing. A payload's first key rarely is one of
    /// them, and when it is (`slog` leads with `time`), `docker` stops at its first other key.
    @inline(__always)
    static func mayBeDocker(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        // every unframed JSON line passes here: a payload's `{"level"`, `{"msg"` costs a few byte
        // compares; the rest (spaces, other key orders) is looked at below
        let c1 = p[1]
        if c1 == 0x22 {
            let c2 = p[2]
            if c2 == UInt8(ascii: "l") {
                if p[3] != UInt8(ascii: "o") { return false }
            } else if c2 != UInt8(ascii: "t") && c2 != UInt8(ascii: "s") && c2 != UInt8(ascii: "a") {
                return false
            }
        } else if !Bytes.isSpace(c1) {
            return false
        }
        return mayBeDockerSlow(p, n)
    }

    @inline(never)
    static func mayBeDockerSlow(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 1
        while i < n && Bytes.isSpace(p[i]) { i &+= 1 }
        guard i &+ 8 < n, p[i] == 0x22 else { return false }
        let q = p + (i + 1)
        switch q[0] {
        case UInt8(ascii: "l"): return q[1] == UInt8(ascii: "o") && q[2] == UInt8(ascii: "g") && q[3] == 0x22
        case UInt8(ascii: "t"):
            return q[1] == UInt8(ascii: "i") && q[2] == UInt8(ascii: "m") && q[3] == UInt8(ascii: "e") && q[4] == 0x22
        case UInt8(ascii: "s"):
            return q[1] == UInt8(ascii: "t") && q[2] == UInt8(ascii: "r") && Bytes.hasPrefix(q, 7, "stream\"")
        case UInt8(ascii: "a"): return q[1] == UInt8(ascii: "t") && Bytes.hasPrefix(q, 6, "attrs\"")
        default: return false
        }
    }

    /// Reads a Docker json-file entry: a JSON object of `log`, `stream`, `time` (and `attrs`), in
    /// any order with any white space JSON allows. nil when the object has another key or no
    /// `log` string: then it is a payload, not framing.
    @inline(never)
    private func docker(_ p: UnsafePointer<UInt8>, _ n: Int, source: UnsafePointer<UInt8>?, sourceLength: Int)
        -> Result?
    {
        var logRange: (Int, Int)? = nil
        var timeRange: (Int, Int)? = nil
        var stream: UInt8 = UInt8(ascii: "o")
        var i = 1
        while true {
            while i < n && Bytes.isSpace(p[i]) { i += 1 }
            guard i < n else { return nil }
            if p[i] == UInt8(ascii: "}") { break }
            if p[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard p[i] == 0x22, let ke = PayloadScanner.stringEnd(p, from: i + 1, end: n) else { return nil }
            let ks = i + 1
            i = ke + 1
            while i < n && Bytes.isSpace(p[i]) { i += 1 }
            guard i < n, p[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            while i < n && Bytes.isSpace(p[i]) { i += 1 }
            guard i < n else { return nil }
            let key = p + ks
            let kn = ke - ks
            if p[i] == 0x22 {
                guard let ve = PayloadScanner.stringEnd(p, from: i + 1, end: n) else { return nil }
                let vs = i + 1
                i = ve + 1
                if Bytes.equals(key, kn, "log") {
                    logRange = (vs, ve)
                } else if Bytes.equals(key, kn, "time") {
                    timeRange = (vs, ve)
                } else if Bytes.equals(key, kn, "stream") {
                    if Bytes.equals(p + vs, ve - vs, "stderr") { stream = UInt8(ascii: "e") }
                } else {
                    return nil
                }
            } else if p[i] == UInt8(ascii: "{") && Bytes.equals(key, kn, "attrs") {
                guard let e = PayloadScanner.skipCompound(p, n, from: i) else { return nil }
                i = e
            } else {
                return nil
            }
        }
        guard let (vs, ve) = logRange else { return nil }
        var len = unescapeString(p + vs, min(ve - vs, maxRecordLength), into: scratch)
        var complete = false
        if len > 0 && scratch[len - 1] == 0x0A {
            len -= 1
            complete = true
        }
        // dockerd splits only at exactly 16 KiB; an entry of another length without `\n` is whole
        let partial = !complete && len == Deframer.dockerSplitLength
        if len > 0 && scratch[len - 1] == 0x0D { len -= 1 }
        let tb = timeRange.map { p + $0.0 }
        let tl = timeRange.map { $0.1 - $0.0 } ?? 0
        if !partial && pending.isEmpty {
            return .record(
                Frame(
                    payload: UnsafePointer(scratch), length: len, timeBytes: tb, timeLength: tl,
                    source: source, sourceLength: sourceLength, rebuilt: true))
        }
        let time = tb.flatMap { ByteNumbers.parseRFC3339($0, tl)?.nanos } ?? 0
        return join(
            UnsafePointer(scratch), len, partial: partial, stream: stream, time: time, source: source,
            sourceLength: sourceLength, rebuilt: true)
    }

    private func key(_ source: UnsafePointer<UInt8>?, _ len: Int, _ stream: UInt8) -> UInt64 {
        let h = source.map { ByteHash.hash($0, len) } ?? 0x51
        return (h ^ (UInt64(stream) &* 0x9E37_79B9_7F4A_7C15)) ^ (tailFile &* 0xC2B2_AE3D_27D4_EB4F)
    }

    private func join(
        _ body: UnsafePointer<UInt8>, _ len: Int, partial: Bool, stream: UInt8, time: Int64,
        source: UnsafePointer<UInt8>?, sourceLength: Int, rebuilt: Bool = false
    ) -> Result {
        let k = key(source, sourceLength, stream)
        if partial {
            if var pend = pending[k] {
                if pend.bytes.count + len > maxRecordLength {
                    pend.overflow = true
                } else {
                    pend.bytes.append(contentsOf: UnsafeBufferPointer(start: body, count: len))
                }
                pending[k] = pend
            } else if pending.count < Deframer.maxPendingStreams {
                let src = source.map { Array(UnsafeBufferPointer(start: $0, count: sourceLength)) } ?? []
                pending[k] = Pending(
                    bytes: Array(UnsafeBufferPointer(start: body, count: min(len, maxRecordLength))), time: time,
                    source: src, overflow: len > maxRecordLength)
            } else {
                droppedPartials += 1
            }
            return .partial
        }
        guard let pend = pending.removeValue(forKey: k) else {
            return .record(
                Frame(
                    payload: body, length: len, time: time, source: source, sourceLength: sourceLength, rebuilt: rebuilt
                ))
        }
        if pend.overflow || pend.bytes.count + len > maxRecordLength {
            droppedPartials += 1
            return .record(
                Frame(payload: body, length: 0, time: time, source: source, sourceLength: sourceLength, rebuilt: true))
        }
        let head = pend.bytes.count
        pend.bytes.withUnsafeBufferPointer { b in
            if let base = b.baseAddress { joinBuffer.update(from: base, count: head) }
        }
        (joinBuffer + head).update(from: body, count: len)
        return .record(
            Frame(
                payload: UnsafePointer(joinBuffer), length: head + len, time: time, source: source,
                sourceLength: sourceLength, rebuilt: true))
    }

    /// Ends one input file: partial records still buffered (a `P` line never followed by `F`)
    /// are handed out as whole lines, never joined with the next file's first line.
    public func drainPending(_ body: (Frame) -> Void) {
        tailFile = 0
        let all = pending
        pending.removeAll()
        for (_, pend) in all.sorted(by: { $0.value.time < $1.value.time }) {
            // a partial run longer than a record can be is one line, skipped and counted
            if pend.overflow {
                droppedPartials += 1
                continue
            }
            let n = pend.bytes.count
            let sn = min(pend.source.count, 512)
            pend.bytes.withUnsafeBufferPointer { b in
                if let base = b.baseAddress { joinBuffer.update(from: base, count: n) }
            }
            pend.source.withUnsafeBufferPointer { b in
                if let base = b.baseAddress { sourceBuffer.update(from: base, count: sn) }
            }
            body(
                Frame(
                    payload: UnsafePointer(joinBuffer), length: n, time: pend.time,
                    source: sn > 0 ? UnsafePointer(sourceBuffer) : nil, sourceLength: sn, rebuilt: true))
        }
    }
}

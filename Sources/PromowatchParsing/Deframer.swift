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
    var parsedTime: Int64 = 0
    var timeBytes: UnsafePointer<UInt8>? = nil
    var timeLength = 0
    /// `pod/<pod>/<container>` from kubectl `--prefix`, as bytes inside the line (length 0 when none).
    public var source: UnsafePointer<UInt8>?
    public var sourceLength: Int
    /// The payload was rebuilt (Docker unescaping, CRI/Docker partial lines joined) rather than
    /// being a slice of the input line.
    public var rebuilt: Bool

    init(payload: UnsafePointer<UInt8>, length: Int, time: Int64, source: UnsafePointer<UInt8>?, sourceLength: Int, rebuilt: Bool) {
        self.payload = payload; self.length = length; self.parsedTime = time
        self.source = source; self.sourceLength = sourceLength; self.rebuilt = rebuilt
    }

    /// A frame whose timestamp is still the raw bytes at `timeBytes`.
    init(payload: UnsafePointer<UInt8>, length: Int, timeBytes: UnsafePointer<UInt8>?, timeLength: Int,
         source: UnsafePointer<UInt8>?, sourceLength: Int) {
        self.payload = payload; self.length = length; self.timeBytes = timeBytes; self.timeLength = timeLength
        self.source = source; self.sourceLength = sourceLength; self.rebuilt = false
    }
}

/// Length of an RFC3339-shaped token at `p` (digits and separators where RFC3339 has them,
/// up to the next space), or nil. Cheap: the value itself is parsed only when needed.
@inline(__always)
func rfc3339TokenLength(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
    guard n > 20, Bytes.isDigit(p[0]), Bytes.isDigit(p[3]), p[4] == UInt8(ascii: "-"), p[7] == UInt8(ascii: "-"),
          p[10] == UInt8(ascii: "T"), p[13] == UInt8(ascii: ":"), p[16] == UInt8(ascii: ":") else { return nil }
    var i = 19
    let limit = min(n, 40)
    while i < limit && p[i] != 0x20 { i += 1 }
    return i < n && p[i] == 0x20 ? i : nil
}

/// Removes the outer layers of contract section 1 — kubectl `--prefix` and `--timestamps` in
/// either order, CRI (`P` partials joined up to the next `F`), Docker json-file — detected per
/// line, in any combination. Partial lines are joined per source and stream.
public final class Deframer {
    public let maxRecordLength: Int
    private let scratch: UnsafeMutablePointer<UInt8>   // Docker-unescaped payload
    private let joinBuffer: UnsafeMutablePointer<UInt8> // partials joined with their final part
    private let sourceBuffer: UnsafeMutablePointer<UInt8>
    private var pending: [UInt64: Pending] = [:]
    public static let maxPendingStreams = 4096
    /// Partial records dropped because they grew past `maxRecordLength` or too many streams were open.
    public private(set) var droppedPartials = 0

    struct Pending { var bytes: [UInt8]; var time: Int64; var source: [UInt8]; var overflow: Bool }

    public enum Result {
        case record(Frame)
        /// A partial line (CRI `P`, Docker without trailing newline) that was buffered.
        case partial
    }

    public init(maxRecordLength: Int = 1 << 20) {
        self.maxRecordLength = maxRecordLength
        scratch = .allocate(capacity: maxRecordLength + 16)
        joinBuffer = .allocate(capacity: maxRecordLength + 16)
        sourceBuffer = .allocate(capacity: 512)
    }

    deinit { scratch.deallocate(); joinBuffer.deallocate(); sourceBuffer.deallocate() }

    /// Deframes `p[0..<n]` (no trailing newline). The frame's pointers stay valid until the next call.
    public func deframe(_ p0: UnsafePointer<UInt8>, _ n0: Int) -> Result {
        var p = p0, n = n0
        var timeBytes: UnsafePointer<UInt8>? = nil
        var timeLength = 0
        var src: UnsafePointer<UInt8>? = nil
        var srcLen = 0
        var layers = 0
        while layers < 4 {
            layers += 1
            // kubectl --prefix: "[pod/<pod>/<container>] "
            if n > 6 && p[0] == UInt8(ascii: "[") && Bytes.hasPrefix(p + 1, n - 1, "pod/") {
                if let close = Bytes.find(UInt8(ascii: "]"), p, from: 1, end: min(n, 512)), close + 1 < n || close + 1 == n {
                    src = p + 1; srcLen = close - 1
                    let skip = close + 1 < n && p[close + 1] == 0x20 ? close + 2 : close + 1
                    p += skip; n -= skip
                    continue
                }
            }
            // RFC3339 timestamp followed by a space: kubectl --timestamps or CRI
            if let len = rfc3339TokenLength(p, n) {
                timeBytes = p; timeLength = len
                p += len + 1; n -= len + 1
                // CRI: "<stdout|stderr> <F|P> <payload>"
                if n >= 8 && (Bytes.hasPrefix(p, n, "stdout ") || Bytes.hasPrefix(p, n, "stderr ")),
                   p[7] == UInt8(ascii: "F") || p[7] == UInt8(ascii: "P"), n == 8 || p[8] == 0x20 {
                    let partial = p[7] == UInt8(ascii: "P")
                    let stream = p[3]  // 'o' or 'e'
                    let body = n > 8 ? p + 9 : p + 8
                    let bodyLen = n > 8 ? n - 9 : 0
                    if !partial && pending.isEmpty {
                        return .record(Frame(payload: body, length: bodyLen, timeBytes: timeBytes, timeLength: timeLength, source: src, sourceLength: srcLen))
                    }
                    let time = ByteNumbers.parseRFC3339(timeBytes!, timeLength)?.nanos ?? 0
                    return join(body, bodyLen, partial: partial, stream: stream, time: time, source: src, sourceLength: srcLen)
                }
                continue
            }
            // Docker json-file: {"log":"...","stream":"stdout","time":"..."}
            if n > 9 && Bytes.hasPrefix(p, n, "{\"log\":\"") {
                if let r = docker(p, n, source: src, sourceLength: srcLen) { return r }
            }
            break
        }
        return .record(Frame(payload: p, length: n, timeBytes: timeBytes, timeLength: timeLength, source: src, sourceLength: srcLen))
    }

    private func docker(_ p: UnsafePointer<UInt8>, _ n: Int, source: UnsafePointer<UInt8>?, sourceLength: Int) -> Result? {
        let vs = 8
        guard let ve = PayloadScanner.stringEnd(p, from: vs, end: n) else { return nil }
        var len = unescapeString(p + vs, min(ve - vs, maxRecordLength), into: scratch)
        var complete = false
        if len > 0 && scratch[len - 1] == 0x0A { len -= 1; complete = true }
        if len > 0 && scratch[len - 1] == 0x0D { len -= 1 }
        var time: Int64 = 0
        var stream: UInt8 = UInt8(ascii: "o")
        let rest = p + ve, restLen = n - ve
        if let r = Bytes.firstIndex(rest, restLen, "\"time\":\"") {
            let ts = rest + r + 8
            if let (t, _) = ByteNumbers.parseRFC3339(ts, restLen - r - 8) { time = t }
        }
        if Bytes.contains(rest, restLen, "\"stream\":\"stderr\"") { stream = UInt8(ascii: "e") }
        return join(UnsafePointer(scratch), len, partial: !complete, stream: stream, time: time, source: source, sourceLength: sourceLength, rebuilt: true)
    }

    private func key(_ source: UnsafePointer<UInt8>?, _ len: Int, _ stream: UInt8) -> UInt64 {
        let h = source.map { ByteHash.hash($0, len) } ?? 0x51
        return h ^ (UInt64(stream) &* 0x9E37_79B9_7F4A_7C15)
    }

    private func join(_ body: UnsafePointer<UInt8>, _ len: Int, partial: Bool, stream: UInt8, time: Int64,
                      source: UnsafePointer<UInt8>?, sourceLength: Int, rebuilt: Bool = false) -> Result {
        let k = key(source, sourceLength, stream)
        if partial {
            if var pend = pending[k] {
                if pend.bytes.count + len > maxRecordLength { pend.overflow = true } else { pend.bytes.append(contentsOf: UnsafeBufferPointer(start: body, count: len)) }
                pending[k] = pend
            } else if pending.count < Deframer.maxPendingStreams {
                let src = source.map { Array(UnsafeBufferPointer(start: $0, count: sourceLength)) } ?? []
                pending[k] = Pending(bytes: Array(UnsafeBufferPointer(start: body, count: min(len, maxRecordLength))), time: time, source: src, overflow: len > maxRecordLength)
            } else {
                droppedPartials += 1
            }
            return .partial
        }
        guard let pend = pending.removeValue(forKey: k) else {
            return .record(Frame(payload: body, length: len, time: time, source: source, sourceLength: sourceLength, rebuilt: rebuilt))
        }
        if pend.overflow || pend.bytes.count + len > maxRecordLength {
            droppedPartials += 1
            return .record(Frame(payload: body, length: 0, time: time, source: source, sourceLength: sourceLength, rebuilt: true))
        }
        let head = pend.bytes.count
        pend.bytes.withUnsafeBufferPointer { b in if let base = b.baseAddress { joinBuffer.update(from: base, count: head) } }
        (joinBuffer + head).update(from: body, count: len)
        return .record(Frame(payload: UnsafePointer(joinBuffer), length: head + len, time: time, source: source, sourceLength: sourceLength, rebuilt: true))
    }

    /// Hands out partial records still buffered at end of input (a `P` line never followed by `F`).
    public func drainPending(_ body: (Frame) -> Void) {
        let all = pending
        pending.removeAll()
        for (_, pend) in all.sorted(by: { $0.value.time < $1.value.time }) where !pend.overflow {
            let n = pend.bytes.count, sn = min(pend.source.count, 512)
            pend.bytes.withUnsafeBufferPointer { b in if let base = b.baseAddress { joinBuffer.update(from: base, count: n) } }
            pend.source.withUnsafeBufferPointer { b in if let base = b.baseAddress { sourceBuffer.update(from: base, count: sn) } }
            body(Frame(payload: UnsafePointer(joinBuffer), length: n, time: pend.time,
                       source: sn > 0 ? UnsafePointer(sourceBuffer) : nil, sourceLength: sn, rebuilt: true))
        }
    }
}

import PromowatchCore
import PromowatchInput
import PromowatchParsing
import PromowatchDetection
import CByteSearch
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Reads inputs block by block, removes the framing, extracts events and keeps the run totals.
/// It knows nothing about output formats: callers render `summary()` as they like.
public final class Analyzer {
    public struct Options: Sendable {
        public var maxLineLength = 1 << 20
        public var blockSize = 1 << 20
        public var keys = KeyTable()
        public var limits = EventExtractor.Limits()
        /// Event times are trusted between this instant (ns; default 2000-01-01T00:00:00Z) and
        /// `maxFutureSkew` ns past the arrival time (default a day). Outside, the framing's time or
        /// the arrival time is used and the line counted in `untrusted_timestamps`.
        public var earliestTime: Int64 = 946_684_800 * 1_000_000_000
        public var maxFutureSkew: Int64 = 86_400 * 1_000_000_000
        /// The detector's fixed tables (`Detector.Sizes`).
        public var detectorSizes = Detector.Sizes()
        /// A batch's detection on a thread of its own (`DetectionPipe`); nil: when the process may
        /// use a second CPU (`Machine.mayUseSecondThread`). Streaming never does.
        public var detectionThread: Bool?
        /// A batch's reading and line scanning on a thread of its own (`ScanAhead`); nil: for plain
        /// input when the process may use a second CPU. Streaming and following a pipe never do.
        public var scanThread: Bool?
        public init() {}
    }

    public let options: Options
    public let extractor: EventExtractor
    private let deframer: Deframer
    private let reader: BlockReader
    private let marker: LineMarker
    private static let lineIndexCapacity = 8192
    private let lineEnds = UnsafeMutablePointer<UInt32>.allocate(capacity: Analyzer.lineIndexCapacity)
    private var hits: [(offset: Int, phrase: Phrases)] = []
    public private(set) var aggregates = Aggregates()
    private var counts = EventCounts()
    private var lines = 0
    private var skipped = 0
    private var oversized = 0
    private var bytes = 0
    /// `reader.bytesRead` when the input being read began (nil between inputs): a summary taken
    /// while following a stream counts what was read of it so far.
    private var inputStart: Int?
    /// Keep the run totals that only metrics read (discount total, latency histogram).
    public var collectsRunTotals: Bool {
        get { aggregates.runTotals }
        set { aggregates.runTotals = newValue }
    }
    /// How far into the current input's file the reader is (compressed bytes for gzip).
    public private(set) var inputPosition = 0
    private var inputErrors: [String] = []
    private var inputWarnings = 0
    private var inputWarningSamples: [String] = []
    private var dedupe = PromotionDedupe()
    private let storedText = StoredText()
    /// Batch: decide the trace-id rule once the whole input is read, so results do not depend on
    /// line order (`PromotionDedupe`). Streaming and shared watch decide at once.
    public var orderIndependent = true
    /// Detection, when findings are wanted (it shares the extractor's coupon and provider tables).
    /// The detector, with every event handed to it added (a batch's detection thread drained
    /// first): read it from the thread that feeds the analyzer.
    public var detector: Detector? {
        pipe?.drain()
        return ownDetector
    }
    private var ownDetector: Detector?
    /// `cron`: per source (`pod/<pod>/<container>`), events at or before this time were handled
    /// by an earlier run and are skipped; `latest` collects the newest event time per source.
    public var checkpoints: [String: Int64] = [:]
    public private(set) var latest: [String: Int64] = [:]
    /// Collect `latest` even with no checkpoints yet (cron's first run).
    public var trackSources = false
    public private(set) var alreadySeen = 0
    /// Batch events without a time of their own (`Event.undated`): counted, in no window.
    public private(set) var undatedEvents = 0
    /// Sees every counted event (tests of event times); nil in normal runs.
    public var eventObserver: ((Event) -> Void)?
    /// Called after each block (streaming output); nil in batch runs.
    public var afterBlock: (() -> Void)?
    /// Streaming: called whenever the detector's watermark (the newest trusted event time; a lone
    /// jump into the future does not move it) reaches the next multiple of `tickNanos` (set by
    /// `onEventTime`), after the event is counted. A replayed log (`watch`
    /// on a file) is then evaluated as often in event time as a live stream is on the clock,
    /// whatever the machine's speed.
    private var onTick: (() -> Void)?
    private var tickNanos: Int64 = 0
    private var nextTick = Int64.max

    deinit {
        pipe?.close()
        lineEnds.deallocate()
    }

    /// Turns detection on. `streaming` keeps only the minutes that windows still need.
    public func enableDetection(_ config: DetectionConfig, streaming: Bool = false) {
        let d = Detector(
            config: config, coupons: extractor.coupons, providers: extractor.providers, sizes: options.detectorSizes)
        guard streaming else { return enableDetection(sharing: d) }
        d.streaming = true
        orderIndependent = false
        ownDetector = d
    }

    /// Batch detection by `d`, on a thread of its own when the process may use a second CPU. `d`
    /// may be one an earlier analyzer created (with the same tables:
    /// `init(options:sharingTablesOf:)`), which keeps its minutes across readings.
    public func enableDetection(sharing d: Detector) {
        precondition(!d.streaming, "a shared detector is a batch's")
        ownDetector = d
        if options.detectionThread ?? Machine.mayUseSecondThread {
            extractor.coupons.shared = true
            extractor.providers.shared = true
            pipe = DetectionPipe(d)
        }
    }

    /// Lets the detector go once its findings are of no use (a batch read again in time slices);
    /// the run totals stay. Call after `finish`.
    public func releaseDetector() {
        closePipe()
        ownDetector = nil
    }

    /// Detection on its own thread, in a batch (nil: on the parsing thread).
    var pipe: DetectionPipe?

    /// Findings a batch already evaluated (it folds minutes early to stay within its bound).
    public var findingsSoFar: Int { pipe?.findingsSoFar ?? ownDetector?.findingsSoFar ?? 0 }

    /// Every event handed to the detector has been added (and its thread ended).
    private func closePipe() {
        guard let p = pipe else { return }
        p.close()
        pipe = nil
        extractor.coupons.shared = false
        extractor.providers.shared = false
    }

    /// Call `handler` each time event time passes a multiple of `seconds` (see `onTick`).
    public func onEventTime(every seconds: Int, _ handler: @escaping () -> Void) {
        tickNanos = Int64(max(1, seconds)) * EventTime.nanosPerSecond
        nextTick = Int64.min
        onTick = handler
    }

    /// While waiting for input on a pipe or terminal, call `handler` every `milliseconds`.
    public func onIdle(every milliseconds: Int32, _ handler: @escaping () -> Void) {
        reader.idleMilliseconds = milliseconds
        reader.onIdle = handler
    }

    /// `sharingTablesOf`: intern codes, providers and sources into another analyzer's tables, so
    /// a detector fed by both sees one symbol per name (a batch read again in time slices).
    public init(options: Options = Options(), sharingTablesOf other: Analyzer? = nil) {
        self.options = options
        extractor = EventExtractor(
            keys: options.keys, limits: options.limits, maxRecordLength: options.maxLineLength,
            sharing: other?.extractor)
        extractor.earliestTime = options.earliestTime
        extractor.maxFutureSkew = options.maxFutureSkew
        deframer = Deframer(maxRecordLength: options.maxLineLength)
        marker = LineMarker(keys: options.keys)
        reader = BlockReader(maxLineLength: options.maxLineLength, blockSize: options.blockSize)
    }

    /// Reads one input to its end. A failing input (corrupt gzip, read error) keeps everything
    /// read before the failure, is recorded in the summary and rethrown.
    public func run(_ source: inout ByteSource) throws {
        reader.reset()
        let before = reader.bytesRead
        inputStart = before
        inputPosition = 0
        defer {
            bytes += reader.bytesRead - before
            inputStart = nil
            endOfInput()
        }
        do {
            if scansAhead(source) {
                try runScanningAhead(&source)
                return
            }
            var first = true
            while let block = try reader.next(from: &source) {
                if first {
                    first = false
                    if Analyzer.looksLikeUTF16(block) {
                        throw InputError(input: source.name, kind: .utf16, offset: 0)
                    }
                }
                process(block)
                inputPosition = source.position
                afterBlock?()
            }
        } catch let e as InputError {
            if reader.pendingBytes > 0 && e.kind != .utf16 {
                lines += 1
                skipped += 1
            }  // the cut-off last line
            inputErrors.append(e.description)
            throw e
        }
    }

    /// UTF-16 text (what `kubectl logs > f` writes in Windows PowerShell 5.1): a UTF-16 byte order
    /// mark, or ASCII with every other byte NUL. Read as bytes it would be no events at all.
    static func looksLikeUTF16(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count >= 2 else { return false }
        if (b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF) { return true }
        guard b.count >= 8 else { return false }
        var le = true
        var be = true
        for i in stride(from: 0, to: 8, by: 2) {
            if b[i] == 0 || b[i + 1] != 0 { le = false }
            if b[i] != 0 || b[i + 1] == 0 { be = false }
        }
        return le || be
    }

    /// One input file ended: partial lines still pending are whole lines of this file.
    private func endOfInput() {
        let arrival = Analyzer.now()
        deframer.drainPending { f in
            let marks = marker.marks(f.payload, f.length)
            if marks.isEmpty { skip(f) } else { record(f, marks, arrival) }
        }
    }

    /// Opens and reads a path (`-` = stdin).
    public func run(path: String) throws {
        var source: ByteSource
        do { source = try ByteSource.open(path, spool: path == "-" ? stdinSpool : nil) } catch let e as InputError {
            inputErrors.append(e.description)
            throw e
        }
        spanFirst = Int64.max
        spanLast = Int64.min
        defer {
            source.close()
            inputSpans.append(InputSpan(path: path, first: spanFirst, last: spanLast))
        }
        try run(&source)
    }

    /// Where a batch copies standard input as it reads it, to read it again (`SlicedReading`).
    public var stdinSpool: InputSpool?

    /// The event times an input held (of the events handed to detection).
    public struct InputSpan: Sendable {
        public var path: String
        /// The earliest and the newest event time (ns); `first > last` when it held none.
        public var first: Int64
        public var last: Int64
    }
    /// Per input read by `run(path:)`, in the order read.
    public private(set) var inputSpans: [InputSpan] = []
    private var spanFirst = Int64.max
    private var spanLast = Int64.min
    @inline(__always) private func noteSpan(_ t: Int64) {
        if t < spanFirst { spanFirst = t }
        if t > spanLast { spanLast = t }
    }

    /// Whether `run` reads and scans on a second thread: a batch (order-independent) not
    /// following a pipe, allowed a second CPU, and by default only plain input: gzip is inflated
    /// ahead on a thread of its own already (`GzipReader`), and a third thread would only compete
    /// for two CPUs (measured: 1.6x slower on the sparse gigabyte when it also inflates).
    private func scansAhead(_ source: ByteSource) -> Bool {
        guard orderIndependent && reader.onIdle == nil else { return false }
        return options.scanThread ?? (Machine.mayUseSecondThread && !source.isGzip)
    }

    /// The marker of the scanning thread (a marker keeps scratch state: one per thread).
    private(set) var aheadMarkerIfMade: LineMarker?

    /// `run` with reading, phrase search and line indexing on a second thread: each block is
    /// then parsed here exactly as `process` parses it.
    private func runScanningAhead(_ source: inout ByteSource) throws {
        let name = source.name
        let m = aheadMarkerIfMade ?? LineMarker(keys: options.keys)
        aheadMarkerIfMade = m
        let ahead = ScanAhead(reader: reader, marker: m, source: source)
        defer { source = ahead.finish() }
        var first = true
        while let slot = try ahead.next() {
            defer { ahead.recycle(slot) }
            let p = UnsafePointer(slot.buffer)
            if first {
                first = false
                if Analyzer.looksLikeUTF16(UnsafeBufferPointer(start: p, count: slot.count)) {
                    throw InputError(input: name, kind: .utf16, offset: 0)
                }
            }
            swap(&hits, &slot.hits)
            let arrival = Analyzer.now()
            var hi = 0
            var i = 0
            parseIndexed(p, slot.lineEnds, slot.lines, from: &i, arrival: arrival, hi: &hi)
            // lines past the block's index (`ScanAhead.Block.maxLines`): indexed here
            parseLines(p, from: i, to: slot.count, arrival: arrival, hi: &hi)
            inputPosition = slot.position
            afterBlock?()
        }
    }

    /// Processes a buffer that holds whole lines, each ending in `\n`.
    public func process(_ block: UnsafeBufferPointer<UInt8>) {
        guard let p = block.baseAddress, block.count > 0 else { return }
        let n = block.count
        precondition(n < Int(UInt32.max), "blocks are indexed with 32-bit offsets")
        marker.scan(p, n, into: &hits)
        var hi = 0
        parseLines(p, from: 0, to: n, arrival: Analyzer.now(), hi: &hi)
    }

    /// Parses the lines of `p[from..<n]` (the block's phrase hits in `hits`, from `hi` on),
    /// indexing their ends many at a time, then one line at a time.
    private func parseLines(_ p: UnsafePointer<UInt8>, from: Int, to n: Int, arrival: Int64, hi: inout Int) {
        var i = from
        let maxLine = options.maxLineLength
        while i < n {
            let count = promowatch_index_lines(p, i, n, lineEnds, Analyzer.lineIndexCapacity)
            if count == 0 {
                // the last line has no newline (blocks from BlockReader always end in one)
                lineAt(p, i, n, maxLine: maxLine, arrival: arrival, hi: &hi)
                break
            }
            parseIndexed(p, lineEnds, count, from: &i, arrival: arrival, hi: &hi)
        }
    }

    /// Parses the `count` lines from `i` whose ends are in `ends`; `i` ends past the last one.
    @inline(__always)
    private func parseIndexed(
        _ p: UnsafePointer<UInt8>, _ ends: UnsafePointer<UInt32>, _ count: Int, from i: inout Int, arrival: Int64,
        hi: inout Int
    ) {
        let maxLine = options.maxLineLength
        for k in 0..<count {
            let e = Int(ends[k])
            lineAt(p, i, e, maxLine: maxLine, arrival: arrival, hi: &hi)
            i = e &+ 1
        }
    }

    @inline(__always)
    private func lineAt(_ p: UnsafePointer<UInt8>, _ i: Int, _ e: Int, maxLine: Int, arrival: Int64, hi: inout Int) {
        var len = e &- i
        if len > 0 && p[i &+ len &- 1] == 0x0D { len &-= 1 }
        lines &+= 1
        var ph: Phrases = []
        while hi < hits.count && hits[hi].offset < e {
            if hits[hi].offset >= i { ph.insert(hits[hi].phrase) }
            hi &+= 1
        }
        if len > maxLine {
            oversized &+= 1
            skipped &+= 1
        } else {
            line(p + i, len, ph, arrival)
        }
    }

    @inline(__always)
    private func line(_ p: UnsafePointer<UInt8>, _ n: Int, _ ph: Phrases, _ arrival: Int64) {
        switch deframer.deframe(p, n) {
        case .partial:
            return
        case .skipped:
            skipped &+= 1
        case .record(let f):
            // a rebuilt payload (joined partials, Docker) may hold words split across lines
            let marks = f.rebuilt ? marker.marks(f.payload, f.length) : ph
            if marks.isEmpty {
                skip(f)
                return
            }  // nothing in it can make it an event
            record(f, marks, arrival)
        }
    }

    /// A record that is no event. kubectl's own error lines are counted as input warnings too:
    /// a stream of them means the logs were not read, which an empty result would hide.
    @inline(__always)
    private func skip(_ f: Frame) {
        skipped &+= 1
        guard f.length >= 16 else { return }
        let c = f.payload[0]
        if c == UInt8(ascii: "E") || c == UInt8(ascii: "u") || c == UInt8(ascii: "e") { kubectlError(f) }
    }

    @inline(never)
    private func kubectlError(_ f: Frame) {
        let b = UnsafeBufferPointer(start: f.payload, count: f.length)
        guard Analyzer.kubectlErrorPrefixes.contains(where: { b.starts(with: $0) }) else { return }
        inputWarnings += 1
        if inputWarningSamples.count < 5 {
            inputWarningSamples.append(String(decoding: b.prefix(300), as: UTF8.self))
        }
    }

    static let kubectlErrorPrefixes: [[UInt8]] = ["Error from server", "unable to retrieve container logs", "error: "]
        .map { Array($0.utf8) }

    @inline(__always)
    private func record(_ f: Frame, _ ph: Phrases, _ arrival: Int64) {
        var ev = extractor.extract(f, phrases: ph, arrival: arrival)
        if ev.kinds.isEmpty {
            skip(f)
            return
        }
        let trace = extractor.traceHash
        if trace != 0 && !ev.kinds.isDisjoint(with: .promotion) {
            if extractor.promotionFromRequestLine {
                switch dedupe.requestLine(
                    trace, ev, user: extractor.userText(), ip: extractor.ipText(), hold: orderIndependent)
                {
                case .held:
                    if !ev.undated { noteSpan(ev.time) }  // its input must be read again for its slice
                    for h in dedupe.overflow() { accept(h) }
                    return
                case .requestOnly:
                    ev.kinds.subtract(.promotion)
                case .count:
                    break
                }
            } else if let h = dedupe.explicit(trace) {
                accept(h)
            }
        }
        accept(ev, text: extractor)
    }

    private func accept(_ h: PromotionDedupe.Held) {
        storedText.user = h.user
        storedText.ip = h.ip
        accept(h.event, text: storedText, fromLine: false)
    }

    /// `fromLine`: `text` is the extractor, on the line being parsed.
    @inline(__always)
    private func accept(_ ev: Event, text: EventTextSource, fromLine: Bool = true) {
        if ev.kinds.isEmpty {
            skipped += 1
            return
        }
        if !checkpoints.isEmpty || trackSources {
            let name = ev.source >= 0 ? extractor.sources.string(ev.source) : ""
            if let cp = checkpoints[name], ev.time <= cp {
                alreadySeen += 1
                skipped += 1
                return
            }
            if ev.time > latest[name] ?? Int64.min { latest[name] = ev.time }
        }
        counts.add(ev.kinds)
        aggregates.add(ev)
        if ev.undated && orderIndependent {
            // read from a file or a finished stream, the moment a line was read says nothing of
            // when it happened: a day of such lines would be one minute of enormous rates
            undatedEvents &+= 1
            eventObserver?(ev)
            return
        }
        noteSpan(ev.time)
        if let p = pipe.map({ Unmanaged.passUnretained($0) }) {
            // +0: the analyzer holds the pipe (no retain and release per event)
            p._withUnsafeGuaranteedRef {
                $0.add(ev, extractor: fromLine ? extractor : nil, stored: fromLine ? nil : text)
            }
        } else {
            ownDetector?.add(ev, text: text)
        }
        if let observe = eventObserver { observe(ev) }
        if tickNanos > 0, let d = ownDetector, d.watermark >= nextTick { tick(d.watermark) }
    }

    private func tick(_ t: Int64) {
        let first = nextTick == Int64.min
        let q = t >= 0 ? t / tickNanos : (t - tickNanos + 1) / tickNanos
        nextTick = (q &+ 1) &* tickNanos
        if !first { onTick?() }
    }

    /// Ends the run: request-line promotions still held by the trace-id rule had no explicit
    /// line, and count as promotions.
    public func finish() {
        endOfInput()
        for h in dedupe.drain() { accept(h) }
        closePipe()
    }

    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// The run summary so far, coupons and providers sorted by volume.
    public func summary() -> RunSummary {
        pipe?.drain()  // the detector's counts below, as of every event handed over
        var s = RunSummary()
        s.lines = lines + reader.oversizedLines
        s.bytes = bytes + (inputStart.map { reader.bytesRead - $0 } ?? 0)
        s.skippedLines = skipped + reader.oversizedLines + deframer.droppedPartials
        s.oversizedLines = oversized + reader.oversizedLines
        s.events = counts
        s.inputErrors = inputErrors
        s.inputWarnings = inputWarnings
        s.inputWarningSamples = inputWarningSamples
        s.untrustedTimestamps = extractor.untrustedTimestamps
        s.undatedEvents = undatedEvents
        s.duplicatePromotionLines = dedupe.duplicates
        s.untrackedCouponEvents = aggregates.untrackedCouponEvents
        s.untrackedProviderEvents = aggregates.untrackedProviderEvents
        s.untrackedSourceEvents = extractor.untrackedSourceEvents
        s.lateEvents = detector?.lateEvents ?? 0
        s.untrackedReusePairs = detector?.untrackedReusePairs ?? 0
        s.discountTotalE4 = aggregates.discountTotalE4
        s.latency = aggregates.latency
        let a = aggregates
        for i in 0..<a.couponApplied.count {
            s.coupons.append(
                CouponTotal(
                    code: extractor.coupons.string(Symbol(i)), applied: a.couponApplied[i],
                    rejected: a.couponRejected[i], discount: a.couponDiscount[i]))
        }
        s.coupons.sort { ($0.applied, $0.rejected, $1.code) > ($1.applied, $1.rejected, $0.code) }
        for i in 0..<a.providerSucceeded.count {
            s.providers.append(
                ProviderTotal(
                    provider: extractor.providers.string(Symbol(i)), succeeded: a.providerSucceeded[i],
                    declined: a.providerDeclined[i], providerFailures: a.providerFailures[i]))
        }
        s.providers.sort {
            ($0.succeeded + $0.declined + $0.providerFailures, $1.provider) > (
                $1.succeeded + $1.declined + $1.providerFailures, $0.provider
            )
        }
        return s
    }
}

import Foundation
import PromowatchCore
import PromowatchDetection
import PromowatchParsing

/// A batch's detection on a second CPU: the parsing thread hands events over in batches, in the
/// order it would have added them, and one thread adds them to the detector, so parsing and
/// detection overlap and the detector sees exactly what it would have seen on one thread (the
/// findings are the same; `Tests/PromowatchEngineTests/DetectionPipeTests` compares them).
///
/// The text a detector may ask for (an account's name, an example line) is read while the line is
/// still there: its bytes are copied into the batch for the events whose kinds can ask
/// (promotions, declines, provider failures, failed compensations, timeouts, saturation; not
/// requests or successful payments), and turned into strings only when asked. At most `inFlight`
/// batches of `batchEvents` events wait: memory stays bounded.
final class DetectionPipe: @unchecked Sendable {
    static let batchEvents = 4096
    static let inFlight = 3

    /// Per event: start and length in `arena` of the user, ip and line bytes (-1: none).
    typealias Spans = (user: Int32, userLen: Int32, ip: Int32, ipLen: Int32, line: Int32, lineLen: Int32)

    /// Events and the bytes of their texts. Events and spans sit in fixed raw buffers: adding one
    /// is two stores, with no array uniqueness check nor retain of the batch per event.
    final class Batch {
        let events = UnsafeMutablePointer<Event>.allocate(capacity: DetectionPipe.batchEvents)
        let spans = UnsafeMutablePointer<Spans>.allocate(capacity: DetectionPipe.batchEvents)
        var count = 0
        var arena: [UInt8] = []

        deinit {
            events.deinitialize(count: count)
            events.deallocate()
            spans.deallocate()
        }

        func reset() {
            events.deinitialize(count: count)
            count = 0
            arena.removeAll(keepingCapacity: true)
        }
    }

    /// The texts of the event being added, from its batch.
    final class BatchText: EventTextSource {
        var batch: Batch?
        var index = 0

        private func string(_ start: Int32, _ count: Int32) -> String? {
            guard start >= 0, let b = batch else { return nil }
            return b.arena.withUnsafeBufferPointer {
                String(decoding: UnsafeBufferPointer(rebasing: $0[Int(start)..<Int(start + count)]), as: UTF8.self)
            }
        }

        func userText() -> String? { batch.flatMap { string($0.spans[index].user, $0.spans[index].userLen) } }
        func ipText() -> String? { batch.flatMap { string($0.spans[index].ip, $0.spans[index].ipLen) } }
        func lineText() -> String? {
            guard let b = batch, b.spans[index].line >= 0 else { return nil }
            let (start, count) = (Int(b.spans[index].line), Int(b.spans[index].lineLen))
            return b.arena.withUnsafeBufferPointer { ExampleText.sanitized($0.baseAddress! + start, count) }
        }
    }

    static let textKinds: EventKinds = [
        .promotionApplied, .promotionRejected, .paymentDeclined, .paymentProviderFailure, .compensationFailure,
        .timeout, .dbSaturation,
    ]

    private let detector: Detector
    /// The batch being filled. `add` writes through the pipe's own copies of its buffers
    /// (`fillEvents`, `fillSpans`, `fillCount`, `arena`): no call on the batch, so no retain of
    /// it, per event; `send` hands the count and the text bytes over.
    private var filling = Batch()
    private var fillEvents: UnsafeMutablePointer<Event>
    private var fillSpans: UnsafeMutablePointer<Spans>
    private var fillCount = 0
    private var arena: [UInt8] = []
    private var queue: [Batch] = []
    private var spare: [Batch] = []
    private var closed = false
    private var done = false
    private var published = 0
    private let cond = NSCondition()

    init(_ detector: Detector) {
        self.detector = detector
        fillEvents = filling.events
        fillSpans = filling.spans
        // the thread holds the pipe until it ends (`close`); the pipe holds no thread (a cycle
        // through a stored Thread leaked every pipe: found by the fuzzer's leak check)
        let t = Thread { [self] in work() }
        t.stackSize = 8 << 20
        t.start()
    }

    /// Findings the detector already evaluated (a batch over its entry bound folds minutes early).
    var findingsSoFar: Int {
        cond.lock()
        defer { cond.unlock() }
        return published
    }

    /// `textKinds`, held by the pipe: read per event without a lazy global's once-check.
    private let textKindsRaw = DetectionPipe.textKinds.rawValue

    @inline(__always)
    private func copy(_ b: (UnsafePointer<UInt8>, Int)?) -> (Int32, Int32) {
        guard let (p, n) = b else { return (-1, 0) }
        let start = Int32(arena.count)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        return (start, Int32(n))
    }

    private func copy(_ s: String?) -> (Int32, Int32) {
        guard let s else { return (-1, 0) }
        let start = Int32(arena.count)
        arena.append(contentsOf: s.utf8)
        return (start, Int32(arena.count) - start)
    }

    /// Queues `e`; its texts are read now, from `extractor` (the line being parsed) or `stored`.
    @inline(__always)
    func add(_ e: Event, extractor: EventExtractor?, stored: EventTextSource?) {
        let k = fillCount
        (fillEvents + k).initialize(to: e)
        if e.kinds.rawValue & textKindsRaw == 0 {
            fillSpans[k] = (-1, 0, -1, 0, -1, 0)
        } else if let x = extractor {
            let u = copy(x.userBytes())
            let i = copy(x.ipBytes())
            let l = copy(x.lineBytes())
            fillSpans[k] = (u.0, u.1, i.0, i.1, l.0, l.1)
        } else {
            let u = copy(stored?.userText())
            let i = copy(stored?.ipText())
            fillSpans[k] = (u.0, u.1, i.0, i.1, -1, 0)
        }
        fillCount = k + 1
        if k + 1 >= DetectionPipe.batchEvents { send() }
    }

    private func send() {
        filling.count = fillCount
        swap(&filling.arena, &arena)  // the batch's text bytes; `arena` takes its emptied buffer
        cond.lock()
        while queue.count >= DetectionPipe.inFlight { cond.wait() }
        queue.append(filling)
        filling = spare.popLast() ?? Batch()
        cond.broadcast()
        cond.unlock()
        fillEvents = filling.events
        fillSpans = filling.spans
        fillCount = 0
        arena.removeAll(keepingCapacity: true)
    }

    /// Hands over what is queued and waits until the detector has added all of it.
    func drain() {
        if fillCount > 0 { send() }
        cond.lock()
        while !queue.isEmpty || busy { cond.wait() }
        cond.unlock()
    }

    /// Drains, then ends the thread.
    func close() {
        drain()
        cond.lock()
        closed = true
        cond.broadcast()
        while !done { cond.wait() }
        cond.unlock()
    }

    private var busy = false

    private func work() {
        let text = BatchText()
        while true {
            cond.lock()
            while queue.isEmpty && !closed { cond.wait() }
            if queue.isEmpty {
                done = true
                cond.broadcast()
                cond.unlock()
                return
            }
            let b = queue.removeFirst()
            busy = true
            cond.unlock()
            text.batch = b
            for i in 0..<b.count {
                text.index = i
                detector.add(b.events[i], text: text)
            }
            text.batch = nil
            b.reset()
            cond.lock()
            spare.append(b)
            busy = false
            published = detector.findingsSoFar
            cond.broadcast()
            cond.unlock()
        }
    }
}

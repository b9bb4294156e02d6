import PromowatchCore

/// The contract's trace-id rule (section 3): go-kratos' logging middleware logs every
/// `/ApplyPromotion` call as a request line, and a handler may log the same attempt as an
/// explicit `ApplyPromotion` event line with the same trace id. The attempt counts once: the
/// request line then stays a request only.
///
/// Batch results must not depend on line order (pods are read one after another), so in batch a
/// request-line promotion whose trace has no explicit line yet is held until the end of the run
/// (or until an explicit line with its trace arrives). Streaming decides at once: the handler's
/// line precedes the middleware's, which logs when the call returns.
///
/// Memory is bounded: at most `maxHeld` held attempts (past that the oldest are decided as they
/// stand) and at most `maxExplicit` remembered explicit traces (two generations; the older is
/// dropped when the newer fills).
struct PromotionDedupe {
    struct Held {
        var event: Event
        var user: String?
        var ip: String?
        var order: Int
    }

    static let maxHeld = 1 << 18
    static let maxExplicit = 1 << 20

    private(set) var held: [UInt64: Held] = [:]
    private var explicitNew = Set<UInt64>()
    private var explicitOld = Set<UInt64>()
    private var nextOrder = 0
    /// Request lines not counted as a second promotion.
    private(set) var duplicates = 0

    private func seenExplicit(_ trace: UInt64) -> Bool {
        explicitNew.contains(trace) || explicitOld.contains(trace)
    }

    /// An explicit ApplyPromotion line with this trace. Returns a held request-line event of the
    /// same trace, now a request only, for the caller to count.
    mutating func explicit(_ trace: UInt64) -> Held? {
        if var h = held.removeValue(forKey: trace) {
            duplicates += 1
            h.event.kinds.subtract(.promotion)
            return h
        }
        if explicitNew.count >= PromotionDedupe.maxExplicit / 2 {
            explicitOld = explicitNew
            explicitNew.removeAll(keepingCapacity: true)
        }
        explicitNew.insert(trace)
        return nil
    }

    enum Decision {
        /// Count the event as it is (no explicit line known, and not holding).
        case count
        /// The explicit line was seen: count the event as a request only.
        case requestOnly
        /// Held: counted later, by `explicit` or `drain`.
        case held
    }

    /// A request-line promotion with this trace.
    mutating func requestLine(
        _ trace: UInt64, _ event: Event, user: @autoclosure () -> String?,
        ip: @autoclosure () -> String?, hold: Bool
    ) -> Decision {
        if seenExplicit(trace) {
            duplicates += 1
            return .requestOnly
        }
        guard hold, held[trace] == nil else { return .count }  // a second request line of one trace counts
        held[trace] = Held(event: event, user: user(), ip: ip(), order: nextOrder)
        nextOrder += 1
        return .held
    }

    /// When too many are held, the oldest half, decided as they stand (counted as promotions).
    mutating func overflow() -> [Held] {
        guard held.count > PromotionDedupe.maxHeld else { return [] }
        let cut = held.values.map(\.order).sorted()[held.count / 2]
        let out = held.values.filter { $0.order < cut }.sorted { $0.order < $1.order }
        held = held.filter { $0.value.order >= cut }
        return out
    }

    /// End of the run: every attempt still held had no explicit line; counted as a promotion.
    mutating func drain() -> [Held] {
        let out = held.values.sorted { $0.order < $1.order }
        held.removeAll()
        return out
    }
}

/// Identity texts kept with a held event, handed to detection when it is finally counted.
final class StoredText: EventTextSource {
    var user: String?
    var ip: String?
    func userText() -> String? { user }
    func ipText() -> String? { ip }
}

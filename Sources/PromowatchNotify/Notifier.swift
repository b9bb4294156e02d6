import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PromowatchCore

/// Sends incident notices to the configured receivers from a thread of its own: a bounded queue
/// (full: the notice is dropped and counted), retries on 5xx, 429 and connection errors with
/// doubling waits, never blocking the caller. URLs are resolved once (secrets from the
/// environment or a file) and never printed.
public final class Notifier {
    struct Item {
        var receiver: String
        var url: String
        var body: String
    }

    let config: NotificationsConfig
    private var urls: [String: (url: String, minSeverity: Severity)] = [:]
    private let cond = NSCondition()
    private var queue: [Item] = []
    private var busy = false
    private var stopping = false
    private var dropped = 0
    private var delivered = 0
    private let http = HTTPClient(eventLoopGroupProvider: .singleton)
    /// Receivers that could not be set up (a missing environment variable), for the run's messages.
    public private(set) var problems: [String] = []
    /// The first wait between attempts, in seconds (doubled each time).
    public var backoff = 0.25

    public init(config: NotificationsConfig, environment: [String: String]) {
        self.config = config
        for (name, r) in [("alertmanager", config.alertmanager), ("slack", config.slack), ("webhook", config.webhook)] {
            guard let r else { continue }
            switch r.url {
            case .literal(let u): urls[name] = (u, r.minSeverity)
            case .env(let v, _):
                if let u = environment[v], !u.isEmpty {
                    urls[name] = (u, r.minSeverity)
                } else {
                    problems.append("notifications.\(name): environment variable \(v) is not set")
                }
            case .file(let p, _):
                if let d = FileManager.default.contents(atPath: p) {
                    urls[name] = (
                        String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                        r.minSeverity
                    )
                } else {
                    problems.append("notifications.\(name): cannot read \(p)")
                }
            }
        }
        if var am = urls["alertmanager"] {
            while am.url.hasSuffix("/") { am.url.removeLast() }
            am.url += "/api/v2/alerts"
            urls["alertmanager"] = am
        }
        let t = Thread { [weak self] in self?.work() }
        t.name = "promowatch-notify"
        t.start()
    }

    deinit { try? http.syncShutdown() }

    /// Notices dropped (queue full, or every attempt failed) and delivered so far.
    public var drops: Int { cond.withLock { dropped } }
    public var sent: Int { cond.withLock { delivered } }

    /// One incident's news. Alertmanager hears every state (it needs updates and the end);
    /// Slack the opening and the resolution; the webhook every finding and the resolution.
    public func notify(_ n: IncidentNotice) {
        for (name, r) in urls.sorted(by: { $0.key < $1.key }) where n.severity <= r.minSeverity {
            switch name {
            case "alertmanager": enqueue(Item(receiver: name, url: r.url, body: IncidentNotice.alertmanager([n])))
            case "slack" where n.state != .updated:
                enqueue(Item(receiver: name, url: r.url, body: IncidentNotice.slack(n)))
            case "webhook": enqueue(Item(receiver: name, url: r.url, body: IncidentNotice.webhook(n)))
            default: break
            }
        }
    }

    /// Active incidents again, for Alertmanager (it resolves an alert it stops hearing of).
    public func resend(_ active: [IncidentNotice]) {
        guard let r = urls["alertmanager"] else { return }
        let due = active.filter { $0.severity <= r.minSeverity }
        guard !due.isEmpty else { return }
        enqueue(Item(receiver: "alertmanager", url: r.url, body: IncidentNotice.alertmanager(due)))
    }

    private func enqueue(_ item: Item) {
        cond.lock()
        defer { cond.unlock() }
        guard queue.count < config.queueSize else {
            dropped += 1
            return
        }
        queue.append(item)
        cond.signal()
    }

    /// Waits until everything queued was sent or dropped, at most `seconds`; then stops.
    public func drain(seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        cond.lock()
        while (!queue.isEmpty || busy) && Date() < deadline {
            _ = cond.wait(until: min(deadline, Date().addingTimeInterval(0.1)))
        }
        dropped += queue.count
        queue.removeAll()
        stopping = true
        cond.broadcast()
        cond.unlock()
    }

    private func work() {
        while true {
            cond.lock()
            while queue.isEmpty && !stopping { cond.wait() }
            if stopping && queue.isEmpty {
                cond.unlock()
                return
            }
            let item = queue.removeFirst()
            busy = true
            cond.unlock()
            let ok = send(item)
            cond.lock()
            busy = false
            if ok { delivered += 1 } else { dropped += 1 }
            cond.broadcast()
            cond.unlock()
        }
    }

    /// One item, retried on 5xx, 429 and connection errors; false when it never got through.
    private func send(_ item: Item) -> Bool {
        var wait = backoff
        for attempt in 0...config.retries {
            if attempt > 0 {
                Thread.sleep(forTimeInterval: wait)
                wait = min(wait * 2, 30)
            }
            guard var req = try? HTTPClient.Request(url: item.url, method: .POST) else { return false }
            req.headers.add(name: "Content-Type", value: "application/json")
            req.headers.add(name: "User-Agent", value: "promowatch")
            req.body = .string(item.body)
            guard let resp = try? http.execute(request: req, deadline: .now() + .seconds(10)).wait() else { continue }
            let code = Int(resp.status.code)
            if (200..<300).contains(code) { return true }
            if code != 429 && code < 500 { return false }  // refused for good: retrying cannot help
        }
        return false
    }
}

import Foundation
import XCTest

/// A local HTTP receiver for webhook-like calls (hooks, Slack, webhooks, Alertmanager's own
/// webhook): binds 127.0.0.1, answers POST and PUT with `status` (`/down` always 500, `/flaky` 503
/// to its first two requests), records every request, and stops by itself after two minutes.
public final class LocalReceiver {
    public let port: Int
    let dir: String
    let process = Process()

    public init(directory: String, status: Int = 200) throws {
        try TestDependency.require(tool: "python3")
        dir = directory
        let script = directory + "/receiver.py"
        try """
        import http.server, json, sys, threading, os
        default, log = int(sys.argv[1]), sys.argv[2]
        seen = {"flaky": 0}
        lock = threading.Lock()
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8", "replace")
                with lock:
                    status = default
                    path = self.path.split("?")[0]
                    if path == "/down": status = 500
                    if path == "/flaky":
                        seen["flaky"] += 1
                        if seen["flaky"] <= 2: status = 503
                    with open(log, "a") as f:
                        f.write(json.dumps({"method": self.command, "path": self.path, "status": status, "body": body,
                                            "authorization": self.headers.get("Authorization"),
                                            "api_key": self.headers.get("X-Api-Key")}) + "\\n")
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            do_POST = do_PUT = handle_one
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        print("PORT", s.server_address[1], flush=True)
        threading.Timer(120, lambda: os._exit(0)).start()
        s.serve_forever()
        """.write(toFile: script, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, String(status), directory + "/requests.jsonl"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { throw TestDependency.missing("the local receiver did not start") }
            line.append(d)
        }
        port = Int(
            String(decoding: line, as: UTF8.self).split(separator: " ")[1].trimmingCharacters(
                in: .whitespacesAndNewlines))!
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// The requests so far to `path` (query ignored; nil: all).
    public func requests(_ path: String? = nil) -> [[String: Any]] {
        ((try? String(contentsOfFile: dir + "/requests.jsonl", encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { r in
                path.map { ($0 == (r["path"] as? String ?? "").split(separator: "?").first.map(String.init)) } ?? true
            }
    }
}

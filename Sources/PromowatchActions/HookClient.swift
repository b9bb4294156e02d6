import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PromowatchCore

/// Makes runbook hooks' HTTP calls, synchronously (a CLI), each with its own timeout. Header
/// values that come from the environment or a file are read at call time and never printed.
public final class HookClient {
    private let http = HTTPClient(eventLoopGroupProvider: .singleton)

    public init() {}
    deinit { try? http.syncShutdown() }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends `body` as the hook says; returns the HTTP status.
    public func call(_ hook: HookConfig, body: String, environment: [String: String]) throws -> Int {
        var req: HTTPClient.Request
        do { req = try HTTPClient.Request(url: hook.url, method: HTTPMethod(rawValue: hook.method)) } catch {
            throw Failure(description: "bad URL \(hook.redactedURL)")
        }
        req.headers.add(name: "Content-Type", value: "application/json")
        req.headers.add(name: "User-Agent", value: "promowatch")
        for h in hook.headers {
            let value: String
            switch h.value {
            case .literal(let v): value = v
            case .env(let name, let prefix):
                guard let v = environment[name], !v.isEmpty else {
                    throw Failure(description: "header \(h.name): environment variable \(name) is not set")
                }
                value = prefix + v
            case .file(let path, let prefix):
                guard let d = FileManager.default.contents(atPath: path) else {
                    throw Failure(description: "header \(h.name): cannot read \(path)")
                }
                value = prefix + String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard !value.contains("\n"), !value.contains("\r") else {
                throw Failure(description: "header \(h.name): its value is not one line")
            }
            req.headers.replaceOrAdd(name: h.name, value: value)
        }
        if hook.method != "GET" { req.body = .string(body) }
        do {
            let resp = try http.execute(request: req, deadline: .now() + .seconds(Int64(hook.timeoutSeconds))).wait()
            return Int(resp.status.code)
        } catch {
            throw Failure(description: "\(hook.method) \(hook.redactedURL): \(error)")
        }
    }
}

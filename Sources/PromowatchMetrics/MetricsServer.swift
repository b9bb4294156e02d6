import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves the latest metrics text at `GET /metrics` (Prometheus text format) on its own event
/// loop thread; the run loop hands it a new text whenever it evaluates (`update`). Anything else
/// is a 404; the server never reads a request body.
public final class MetricsServer {
    final class Latest: @unchecked Sendable {
        let lock = NSLock()
        var text = ""
    }
    private let latest = Latest()
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: Channel
    /// The port bound (useful with port 0).
    public let port: Int

    /// `address`: `host:port`, `:port` (every interface) or `port`.
    public init(listen address: String) throws {
        let (host, port) = try MetricsServer.parse(address)
        let latest = self.latest
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
                    ch.pipeline.addHandler(MetricsHandler(latest: latest))
                }
            }
        do { channel = try bootstrap.bind(host: host, port: port).wait() } catch {
            try? group.syncShutdownGracefully()
            throw MetricsError(description: "cannot listen on \(address): \(error)")
        }
        self.port = channel.localAddress?.port ?? port
    }

    deinit { close() }

    public func update(_ text: String) {
        latest.lock.lock()
        latest.text = text
        latest.lock.unlock()
    }

    public func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    static func parse(_ address: String) throws -> (String, Int) {
        let host: String
        let portText: String
        if let colon = address.lastIndex(of: ":") {
            host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            portText = String(address[address.index(after: colon)...])
        } else {
            host = ""
            portText = address
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw MetricsError(description: "--metrics-listen: expected host:port, :port or port, got \(address)")
        }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

public struct MetricsError: Error, CustomStringConvertible {
    public var description: String
}

final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let latest: MetricsServer.Latest
    private var head: HTTPRequestHead?

    init(latest: MetricsServer.Latest) { self.latest = latest }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            let path = h.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? h.uri
            let ok = h.method == .GET && path == "/metrics"
            var text = "not found\n"
            if ok {
                latest.lock.lock()
                text = latest.text
                latest.lock.unlock()
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
            headers.add(name: "Content-Length", value: String(text.utf8.count))
            context.write(
                wrapOutboundOut(
                    .head(HTTPResponseHead(version: h.version, status: ok ? .ok : .notFound, headers: headers))),
                promise: nil)
            var buf = context.channel.allocator.buffer(capacity: text.utf8.count)
            buf.writeString(text)
            context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
            let keep = h.isKeepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keep { context.close(promise: nil) }
            }
        }
    }
}

public import Logging
import River
public import RiverTesting
public import RiverWebSocket

/// Running the server on a WebSocket port or behind an in-memory connector.
extension RiverTestServer {
    /// Binds a WebSocket listener and serves every connection until the task is cancelled.
    ///
    /// On cancellation the listener is closed (which drops every connection) and the method
    /// returns once all per-connection work has ended.
    /// - Parameters:
    ///   - host: The address to bind (default `127.0.0.1`).
    ///   - port: The TCP port, or 0 for any free one.
    ///   - onListening: Called once with the bound port, before the first connection is served.
    /// - Throws: `WebSocketListener.BindError` when the address cannot be bound.
    public func run(
        host: String = "127.0.0.1",
        port: Int = 0,
        onListening: @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let listener = try await WebSocketListener.bind(
            host: host, port: port,
            configuration: .init(maximumMessageSize: configuration.maxMessageSize, logger: logger))
        logger.info("listening", metadata: ["river.port": "\(listener.port)", "river.server.id": "\(serverID)"])
        await onListening(listener.port)
        await serve(connections: listener.connections)
        await listener.close()
    }

    /// Runs a server on a WebSocket port for the duration of `body`.
    ///
    /// ```swift
    /// try await RiverTestServer.withRunningServer(configuration: .init(codec: JSONCodec())) { server, port in
    ///     // ws://127.0.0.1:\(port)
    /// }
    /// ```
    /// - Parameters:
    ///   - configuration: Codec, mode and timings.
    ///   - host: The address to bind (default `127.0.0.1`).
    ///   - port: The TCP port, or 0 (default) for any free one.
    ///   - tls: Serve `wss://` with this certificate and key (plain `ws://` when `nil`, the
    ///     default).
    ///   - logger: Where the server logs (silent by default).
    ///   - body: Runs while the server listens; gets the server (for fault injection) and its port.
    /// - Returns: What `body` returns.
    /// - Throws: A bind error, or what `body` throws. The server is shut down either way.
    public static func withRunningServer<Result>(
        configuration: Configuration,
        host: String = "127.0.0.1",
        port: Int = 0,
        tls: WebSocketListener.TLS? = nil,
        logger: Logger = RiverTestServer.silentLogger,
        _ body: (RiverTestServer, Int) async throws -> Result
    ) async throws -> Result {
        let server = RiverTestServer(configuration: configuration, logger: logger)
        let listener = try await WebSocketListener.bind(
            host: host, port: port,
            configuration: .init(maximumMessageSize: configuration.maxMessageSize, tls: tls, logger: logger))
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { await server.serve(connections: listener.connections) }
            let outcome: Swift.Result<Result, any Error>
            do {
                outcome = .success(try await body(server, listener.port))
            } catch {
                outcome = .failure(error)
            }
            group.cancelAll()
            await listener.close()
            return try outcome.get()
        }
    }

    /// Serves in-memory connections for the duration of `body`: every connection the given
    /// connector opens is served by this server.
    /// - Parameter body: Gets a connector for clients (for example `RiverClient`).
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws.
    public func withInMemoryConnector<Result>(_ body: (InMemoryConnector) async throws -> Result) async throws -> Result {
        let (accepted, continuation) = AsyncStream.makeStream(of: (any RiverConnection).self, bufferingPolicy: .unbounded)
        let connector = InMemoryConnector { serverEnd in continuation.yield(serverEnd) }
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { await self.serve(connections: accepted) }
            let outcome: Swift.Result<Result, any Error>
            do {
                outcome = .success(try await body(connector))
            } catch {
                outcome = .failure(error)
            }
            continuation.finish()
            group.cancelAll()
            return try outcome.get()
        }
    }
}

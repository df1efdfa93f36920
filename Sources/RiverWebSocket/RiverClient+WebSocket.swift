public import Logging
public import River

extension RiverClient {
    /// Creates a client for a River server at a `ws://` or `wss://` URL.
    /// - Parameters:
    ///   - url: The server's WebSocket URL.
    ///   - configuration: Client settings (server id, codec, timings, metadata).
    ///   - webSocket: WebSocket settings (upgrade headers, TLS, message size limit).
    ///   - logger: Where the client logs.
    /// - Throws: ``RiverConnectError`` when the URL, the upgrade headers or the TLS files are
    ///   unusable (see ``WebSocketConnector/init(url:configuration:)``).
    public convenience init(
        url: String,
        configuration: Configuration,
        webSocket: WebSocketConnector.Configuration = .defaults,
        logger: Logger = RiverClient.silentLogger
    ) throws(RiverConnectError) {
        self.init(connector: try WebSocketConnector(url: url, configuration: webSocket), configuration: configuration, logger: logger)
    }
}

/// Runs a client of the River server at `url` for the duration of `body`, then closes it.
///
/// ```swift
/// try await withRiverClient(url: "ws://127.0.0.1:8080", configuration: .init(codec: JSONCodec())) { client in
///     let sum = try await client.rpc(RPCProcedure<AddInit, AddOutput, RiverServiceError>(service: "test", procedure: "add"), AddInit(n: 3))
/// }
/// ```
/// - Parameters:
///   - url: The server's `ws://` or `wss://` URL.
///   - configuration: Client settings.
///   - webSocket: WebSocket settings (upgrade headers, TLS, message size limit).
///   - logger: Where the client logs.
///   - body: Makes calls with the client.
/// - Returns: What `body` returns.
/// - Throws: ``RiverConnectError`` when the URL, the upgrade headers or the TLS files are
///   unusable, before anything connects; otherwise what `body` throws.
public func withRiverClient<Value: Sendable>(
    url: String,
    configuration: RiverClient.Configuration,
    webSocket: WebSocketConnector.Configuration = .defaults,
    logger: Logger = RiverClient.silentLogger,
    body: (RiverClient) async throws -> Value
) async throws -> Value {
    try await withRiverClient(
        connector: try WebSocketConnector(url: url, configuration: webSocket), configuration: configuration, logger: logger,
        body: body)
}

public import Logging
public import River

/// Opens River connections over WebSocket (`ws://` and `wss://`) with libwebsockets.
///
/// All connections of the process share one libwebsockets context and one service thread.
/// Host names are resolved on a short-lived thread of their own, so a slow DNS server never
/// stalls other connections; the socket then connects to the numeric address while the
/// `Host` header, TLS server name and certificate check use the name from the URL. When a name
/// resolves to several addresses, a refused connection moves on to the next one.
///
/// ```swift
/// let connector = WebSocketConnector(url: "wss://example.com/river")
/// let connection = try await connector.connect(timeout: .seconds(5))
/// connection.send(bytes)
/// for await event in connection.events { ... }
/// ```
public struct WebSocketConnector: RiverConnector {
    /// How connections are opened.
    public struct Configuration: Sendable {
        /// Extra HTTP headers sent with the upgrade request, in order, for example
        /// `[("Authorization", "Bearer token")]`. Names without the colon. Default: none.
        public var headers: [(name: String, value: String)]
        /// The largest inbound message accepted, in bytes. A larger one closes the connection
        /// with code 1009 (message too big). Default: 16 MiB.
        public var maximumMessageSize: Int
        /// TLS settings for `wss://` URLs. Default: ``TLS/defaults`` (system trust store).
        public var tls: TLS
        /// Where connection events go (at `debug` and below), and libwebsockets' own log
        /// lines (errors and warnings at `debug`, the rest at `trace`). Default: a logger that
        /// discards everything.
        public var logger: Logger

        /// Creates a configuration; every parameter has the documented default.
        /// - Parameters:
        ///   - headers: Extra upgrade request headers.
        ///   - maximumMessageSize: The largest inbound message in bytes.
        ///   - tls: TLS settings for `wss://`.
        ///   - logger: The logger for connection and libwebsockets messages.
        public init(
            headers: [(name: String, value: String)] = [],
            maximumMessageSize: Int = 16 * 1024 * 1024,
            tls: TLS = .defaults,
            logger: Logger = Logger(label: "river.websocket", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.headers = headers
            self.maximumMessageSize = maximumMessageSize
            self.tls = tls
            self.logger = logger
        }

        /// No extra headers, 16 MiB messages, system trust store, no logging.
        public static var defaults: Configuration { Configuration() }
    }

    /// TLS settings for `wss://` connections.
    public struct TLS: Sendable, Hashable {
        /// A PEM file of CA certificates to trust instead of the system trust store (OpenSSL's
        /// default paths, `/etc/ssl/certs` on Debian). Default: `nil` (the system store).
        public var caFilePath: String?
        /// A PEM client certificate (chain) for mutual TLS. Default: `nil` (none).
        public var certificatePath: String?
        /// The PEM private key of ``certificatePath``. Default: `nil`.
        public var privateKeyPath: String?
        /// Accepts any server certificate: self-signed, unknown issuer, expired or for another
        /// host name. Only for tests and local development. Default: `false`.
        public var allowInsecure: Bool

        /// Creates TLS settings; every parameter has the documented default.
        /// - Parameters:
        ///   - caFilePath: CA certificates to trust instead of the system store.
        ///   - certificatePath: A client certificate for mutual TLS.
        ///   - privateKeyPath: The client certificate's private key.
        ///   - allowInsecure: Whether to skip every certificate check.
        public init(
            caFilePath: String? = nil,
            certificatePath: String? = nil,
            privateKeyPath: String? = nil,
            allowInsecure: Bool = false
        ) {
            self.caFilePath = caFilePath
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
            self.allowInsecure = allowInsecure
        }

        /// The system trust store, no client certificate, every check on.
        public static var defaults: TLS { TLS() }

        /// Fails with a clear message when a configured file cannot be read or holds no PEM
        /// block of the expected kind (lws would otherwise carry on with an empty trust store
        /// or no client certificate).
        func checkFiles() throws(RiverConnectError) {
            if (certificatePath == nil) != (privateKeyPath == nil) {
                throw RiverConnectError(.tls, "a client certificate needs both certificatePath and privateKeyPath",
                                        tlsDetail: "incomplete client certificate configuration")
            }
            let problem = PEMFile.firstProblem(in: [
                ("CA file", caFilePath, .certificate),
                ("client certificate", certificatePath, .certificate),
                ("client key", privateKeyPath, .privateKey),
            ])
            if let problem { throw RiverConnectError(.tls, problem.message, tlsDetail: problem.detail) }
        }
    }

    /// The URL connections go to (`ws://host[:port]/path` or `wss://...`).
    public let url: String
    /// How connections are opened.
    public let configuration: Configuration
    private let target: WebSocketTarget

    /// Creates a connector, checking everything that cannot heal by retrying: the URL, the
    /// upgrade headers and, for `wss://`, the TLS files.
    /// - Parameters:
    ///   - url: A `ws://` or `wss://` URL.
    ///   - configuration: Headers, limits, TLS and logging.
    /// - Throws: ``RiverConnectError`` with kind `invalidURL` (not a URL, a scheme other than
    ///   `ws` or `wss`, no host, a port out of range), `tls` (a CA, certificate or key file that
    ///   is missing, unreadable or holds no PEM block of its kind; a certificate without a key)
    ///   or `other` (an upgrade header name or value with a line break).
    public init(url: String, configuration: Configuration = .defaults) throws(RiverConnectError) {
        let target = try WebSocketTarget(parsing: url)
        if target.tls { try configuration.tls.checkFiles() }
        for (name, value) in configuration.headers {
            // Checked per scalar: "\r\n" is a single Character.
            let badName = name.isEmpty || name.unicodeScalars.contains { $0.value < 0x21 || $0 == ":" || $0.value == 0x7F }
            let badValue = value.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }
            if badName || badValue {
                throw RiverConnectError(.other, "the upgrade header \(name.debugDescription) has an invalid name or value")
            }
        }
        self.url = url
        self.configuration = configuration
        self.target = target
    }

    /// The URL.
    public var endpointDescription: String { url }

    /// Opens one WebSocket connection.
    /// - Parameter timeout: How long name resolution, the TCP and TLS handshakes and the HTTP
    ///   upgrade may take together.
    /// - Returns: An open connection (a ``WebSocketConnection``).
    /// - Throws: ``RiverConnectError`` with kind `dnsFailure`, `refused`, `timedOut`, `tls`
    ///   (with ``RiverConnectError/tlsDetail``, for example the certificate verification
    ///   error), `httpUpgrade` (with ``RiverConnectError/httpStatus``), `closedDuringHandshake`
    ///   or `other`, each taken from this attempt's own status; `CancellationError` when the
    ///   task is cancelled before the timeout.
    public func connect(timeout: Duration) async throws -> any RiverConnection {
        LWSLog.use(configuration.logger)
        let clock = ContinuousClock()
        let start = clock.now
        let addresses = try await LWSResolver.resolve(host: target.host, timeout: timeout)
        var lastError = RiverConnectError(.dnsFailure, "\(target.host) has no address")
        for (index, address) in addresses.enumerated() {
            let remaining = timeout - (clock.now - start)
            guard remaining > .zero else {
                throw RiverConnectError(.timedOut, "\(url) did not open within \(timeout)")
            }
            let connection = WebSocketConnection(
                role: .client,
                maximumMessageSize: configuration.maximumMessageSize,
                logger: configuration.logger,
                upgradeHeaders: configuration.headers
            )
            let request = LWSClientRequest(
                address: address,
                port: target.port,
                path: target.path,
                hostHeader: target.hostHeader,
                serverName: target.host,
                tls: target.tls,
                allowInsecure: configuration.tls.allowInsecure,
                tlsFiles: .init(
                    caFilePath: configuration.tls.caFilePath,
                    certificatePath: configuration.tls.certificatePath,
                    privateKeyPath: configuration.tls.privateKeyPath
                ),
                endpoint: url
            )
            do {
                try await connection.connect(request, timeout: remaining)
                configuration.logger.debug("WebSocket open", metadata: ["websocket.endpoint": "\(url)", "websocket.address": "\(address)"])
                return connection
            } catch let error as RiverConnectError where error.kind == .refused && index + 1 < addresses.count {
                lastError = error
                continue
            }
        }
        throw lastError
    }
}

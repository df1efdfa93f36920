import CLibWebSockets
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging
public import River
import Synchronization

/// A WebSocket server socket that accepts River connections (used by the test server).
///
/// A listener runs on the process-wide libwebsockets context and its one service thread, like
/// every client connection, so a listener and clients in one process cost no extra thread. It
/// owns a plain listening socket that lws polls; accepted sockets are handed to lws as raw
/// connections (with lws' TLS for `wss`, one shared, non-listening lws vhost per TLS
/// configuration), on which River answers the HTTP upgrade and reads the client's frames
/// itself. Accepted connections are ``WebSocketConnection``s with the same
/// ``RiverConnection`` behaviour as client connections (binary messages, reassembly, size
/// limit, close codes, abort), plus ``WebSocketConnection/requestHeaders``.
///
/// ```swift
/// let listener = try await WebSocketListener.bind(host: "127.0.0.1", port: 0)
/// for await connection in listener.connections { ... }
/// ```
public final class WebSocketListener: Sendable {
    /// How accepted connections behave.
    public struct Configuration: Sendable {
        /// The largest inbound message accepted, in bytes; larger ones close the connection with
        /// code 1009. Default: 16 MiB.
        public var maximumMessageSize: Int
        /// A certificate and key to serve `wss://`; `nil` serves plain `ws://`. Default: `nil`.
        public var tls: TLS?
        /// Names of non-standard upgrade request headers to keep in
        /// ``WebSocketConnection/requestHeaders``. Every request header is kept now (River reads
        /// the upgrade request itself), so this list changes nothing; it stays for source
        /// compatibility. Default: none.
        public var capturedCustomHeaders: [String]
        /// Where listener and connection events (and libwebsockets' log) go. Default: a logger
        /// that discards everything.
        public var logger: Logger

        /// Creates a configuration; every parameter has the documented default.
        /// - Parameters:
        ///   - maximumMessageSize: The largest inbound message in bytes.
        ///   - tls: The certificate and key to serve TLS with, or `nil`.
        ///   - capturedCustomHeaders: Non-standard request headers to keep.
        ///   - logger: The logger.
        public init(
            maximumMessageSize: Int = 16 * 1024 * 1024,
            tls: TLS? = nil,
            capturedCustomHeaders: [String] = [],
            logger: Logger = Logger(label: "river.websocket.listener", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            self.maximumMessageSize = maximumMessageSize
            self.tls = tls
            self.capturedCustomHeaders = capturedCustomHeaders
            self.logger = logger
        }

        /// 16 MiB messages, plain `ws://`, no custom headers, no logging.
        public static var defaults: Configuration { Configuration() }
    }

    /// The server side of TLS.
    public struct TLS: Sendable, Hashable {
        /// A PEM file with the server certificate (followed by intermediates, if any).
        public var certificateChainPath: String
        /// The PEM private key of the certificate.
        public var privateKeyPath: String
        /// A PEM file of CA certificates; when set, every client must present a certificate
        /// signed by one of them (mutual TLS). Default: `nil` (no client certificate asked).
        public var clientCAFilePath: String?

        /// Creates server TLS settings.
        /// - Parameters:
        ///   - certificateChainPath: The PEM certificate chain.
        ///   - privateKeyPath: The PEM private key.
        ///   - clientCAFilePath: CAs that client certificates must chain to, or `nil` to not
        ///     ask for client certificates.
        public init(certificateChainPath: String, privateKeyPath: String, clientCAFilePath: String? = nil) {
            self.certificateChainPath = certificateChainPath
            self.privateKeyPath = privateKeyPath
            self.clientCAFilePath = clientCAFilePath
        }
    }

    /// Why ``WebSocketListener/bind(host:port:configuration:)`` failed.
    public struct BindError: Error, Sendable, CustomStringConvertible {
        /// What went wrong, with libwebsockets' reason.
        public var message: String
        /// The message.
        public var description: String { message }
    }

    /// The TCP port the listener accepts on (the chosen one when bound with port 0).
    public let port: Int
    /// The host or address it was bound to.
    public let host: String
    /// Accepted WebSocket connections (``WebSocketConnection``s), in order. Finishes when the
    /// listener closes. There is one consumer; iterate it once.
    public let connections: AsyncStream<any RiverConnection>

    private let state: LWSListenerState

    private init(state: LWSListenerState, port: Int) {
        self.state = state
        self.port = port
        self.host = state.host
        self.connections = state.connections
    }

    /// Starts listening.
    /// - Parameters:
    ///   - host: The local address to bind, for example `"127.0.0.1"`.
    ///   - port: The TCP port, or 0 for any free one (read ``port`` afterwards).
    ///   - configuration: Limits, TLS and logging for accepted connections.
    /// - Returns: A listening listener.
    /// - Throws: ``BindError`` when the address cannot be bound or the TLS files cannot be loaded.
    public static func bind(
        host: String = "127.0.0.1",
        port: Int = 0,
        configuration: Configuration = .defaults
    ) async throws -> WebSocketListener {
        if let tls = configuration.tls, let problem = PEMFile.firstProblem(in: [
            ("TLS certificate chain", tls.certificateChainPath, .certificate),
            ("TLS private key", tls.privateKeyPath, .privateKey),
            ("TLS client CA file", tls.clientCAFilePath, .certificate),
        ]) {
            throw BindError(message: problem.message)
        }
        LWSLog.use(configuration.logger)
        let state = LWSListenerState(host: host, requestedPort: port, configuration: configuration)
        let boundPort = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
            state.setBindContinuation(continuation)
            LWSRuntime.shared.enqueue(.listen(state))
        }
        configuration.logger.debug("WebSocket listener open", metadata: ["websocket.port": "\(boundPort)"])
        return WebSocketListener(state: state, port: boundPort)
    }

    /// Stops listening and closes every connection accepted from this listener (without a
    /// close frame). Returns once the listening socket is closed. Idempotent. A listener that
    /// is released without `close()` stops listening but leaves its connections open.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if state.addCloseWaiter(continuation) {
                LWSRuntime.shared.enqueue(.closeListener(state, dropConnections: true))
            }
        }
    }

    deinit {
        // Dropped without close(): stop listening, but leave accepted connections alone (their
        // owners may still use them).
        if state.requestCloseFromDeinit() {
            LWSRuntime.shared.enqueue(.closeListener(state, dropConnections: false))
        }
    }
}

/// The listener's state shared with the service thread.
// @unchecked Sendable: `shared` is a Mutex; `serviceThread...` properties are only touched on
// the libwebsockets service thread; the rest is immutable.
final class LWSListenerState: @unchecked Sendable {
    private struct Shared {
        var bind: CheckedContinuation<Int, any Error>?
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var closeRequested = false
        var closed = false
    }

    let host: String
    let requestedPort: Int
    let configuration: WebSocketListener.Configuration
    let connections: AsyncStream<any RiverConnection>
    private let connectionsContinuation: AsyncStream<any RiverConnection>.Continuation
    private let shared = Mutex(Shared())

    /// The server vhost accepted sockets are adopted into.
    var serviceThreadVhost: OpaquePointer?
    /// The lws wsi of the adopted listening socket, until it is closed.
    var serviceThreadListenWSI: OpaquePointer?
    /// Connections accepted here that lws has not destroyed yet.
    var serviceThreadConnections: [ObjectIdentifier: WebSocketConnection] = [:]

    init(host: String, requestedPort: Int, configuration: WebSocketListener.Configuration) {
        self.host = host
        self.requestedPort = requestedPort
        self.configuration = configuration
        (connections, connectionsContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    func setBindContinuation(_ continuation: CheckedContinuation<Int, any Error>) {
        shared.withLock { $0.bind = continuation }
    }

    /// Returns `true` for the first close request (which must then be enqueued).
    func addCloseWaiter(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
        let (first, resumeNow) = shared.withLock { shared -> (Bool, Bool) in
            if shared.closed { return (false, true) }
            shared.closeWaiters.append(continuation)
            defer { shared.closeRequested = true }
            return (!shared.closeRequested, false)
        }
        if resumeNow { continuation.resume() }
        return first
    }

    /// Returns `true` when nobody asked to close yet (which must then be enqueued).
    func requestCloseFromDeinit() -> Bool {
        shared.withLock { shared in
            guard !shared.closed, !shared.closeRequested else { return false }
            shared.closeRequested = true
            return true
        }
    }

    func serviceThreadBindFinished(_ result: Result<Int, any Error>) {
        let continuation = shared.withLock { shared in
            defer { shared.bind = nil }
            return shared.bind
        }
        if case .failure = result {
            shared.withLock { $0.closed = true }
            connectionsContinuation.finish()
        }
        continuation?.resume(with: result)
    }

    func serviceThreadAccepted(_ connection: WebSocketConnection) {
        connectionsContinuation.yield(connection)
    }

    func serviceThreadClosed() {
        let waiters = shared.withLock { shared in
            shared.closed = true
            defer { shared.closeWaiters = [] }
            return shared.closeWaiters
        }
        connectionsContinuation.finish()
        for waiter in waiters { waiter.resume() }
    }
}

/// The listening socket of a ``WebSocketListener``.
enum LWSListenSocket {
    /// Binds and listens; returns the descriptor (non-blocking) and the bound port.
    static func open(host: String, port: Int) throws -> (fd: Int32, port: Int) {
        let address = host == "localhost" ? "127.0.0.1" : host
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, address, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
        } else if inet_pton(AF_INET6, address, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
        } else {
            throw WebSocketListener.BindError(message: "\(host) is not a numeric address (or localhost)")
        }
        guard (0...65535).contains(port) else {
            throw WebSocketListener.BindError(message: "port \(port) is out of range")
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw failure("socket", host, port) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32
        if family == AF_INET {
            bound = withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            bound = withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard bound == 0, listen(fd, 512) == 0 else {
            let error = failure("bind", host, port)
            close(fd)
            throw error
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let boundPort: UInt16 = withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET {
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
        }
        return (fd, Int(boundPort))
    }

    private static func failure(_ call: String, _ host: String, _ port: Int) -> WebSocketListener.BindError {
        WebSocketListener.BindError(message: "could not listen on \(host):\(port): \(call): \(String(cString: strerror(errno)))")
    }
}

/// Why a connection or a session failed: carried by every error a call throws because of its
/// connection or session (``RiverError/cause``), by the session's ``RiverEvent``s, and switchable
/// on through ``kind``.
///
/// ```swift
/// do {
///     _ = try await client.rpc(Test.Add.procedure, .init(n: 1))
/// } catch let error as RiverError {
///     switch error.cause?.root.kind {
///     case .connectRefused?: print("nothing listens there")
///     case .handshakeRejected?: print("rejected: \(error.cause?.root.handshakeCode?.rawValue ?? "")")
///     default: print(error)
///     }
/// }
/// ```
public struct RiverFailureCause: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure; new kinds may be added.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidEndpoint, connectRefused, dnsFailure, tls, httpStatus, connectTimeout, connectFailed
            case handshakeTimeout, handshakeRejected, handshakeMetadataFailed, codecMismatch, wrongServer
            case protocolViolation, frameTooLarge, serverRestarted, heartbeatTimeout, connectionLost
            case graceExpired, reconnectsDisabled, hardDisconnect, clientClosed, clientShuttingDown
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The endpoint cannot be dialed at all (a malformed URL, unreadable TLS files): never retried.
        public static let invalidEndpoint = Kind(.invalidEndpoint)
        /// Nothing listens at the address (or the connection was reset while opening).
        public static let connectRefused = Kind(.connectRefused)
        /// The host name did not resolve.
        public static let dnsFailure = Kind(.dnsFailure)
        /// TLS failed (certificate, handshake).
        public static let tls = Kind(.tls)
        /// The server answered the WebSocket upgrade with another HTTP status (``RiverFailureCause/httpStatus``).
        public static let httpStatus = Kind(.httpStatus)
        /// The socket did not open within the connection timeout.
        public static let connectTimeout = Kind(.connectTimeout)
        /// The connection could not be opened for another reason (``RiverFailureCause/detail``).
        public static let connectFailed = Kind(.connectFailed)
        /// The server did not answer the handshake within the handshake timeout.
        public static let handshakeTimeout = Kind(.handshakeTimeout)
        /// The server refused the handshake with ``RiverFailureCause/handshakeCode``.
        public static let handshakeRejected = Kind(.handshakeRejected)
        /// The handshake metadata function threw.
        public static let handshakeMetadataFailed = Kind(.handshakeMetadataFailed)
        /// The server speaks the other codec (JSON vs msgpack).
        public static let codecMismatch = Kind(.codecMismatch)
        /// The peer is not the server this client was configured for (its `from` differs).
        public static let wrongServer = Kind(.wrongServer)
        /// The server broke the protocol; ``RiverFailureCause/detail`` says how.
        public static let protocolViolation = Kind(.protocolViolation)
        /// A frame exceeded the maximum message size (close code 1009).
        public static let frameTooLarge = Kind(.frameTooLarge)
        /// The server no longer knows the session (it restarted): the session cannot resume.
        public static let serverRestarted = Kind(.serverRestarted)
        /// The server's heartbeats stopped; the connection was closed.
        public static let heartbeatTimeout = Kind(.heartbeatTimeout)
        /// The connection closed or dropped.
        public static let connectionLost = Kind(.connectionLost)
        /// No connection came back within the session's grace period; ``RiverFailureCause/previous``
        /// is the last failure before it.
        public static let graceExpired = Kind(.graceExpired)
        /// The connection was lost and transparent reconnects are disabled (``RiverFailureCause/previous``).
        public static let reconnectsDisabled = Kind(.reconnectsDisabled)
        /// ``RiverClient/hardDisconnect()`` destroyed the session.
        public static let hardDisconnect = Kind(.hardDisconnect)
        /// The client was closed.
        public static let clientClosed = Kind(.clientClosed)
        /// The client is shutting down gracefully and accepts no new calls.
        public static let clientShuttingDown = Kind(.clientShuttingDown)

        /// The kind's name.
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var kind: Kind
    /// A readable explanation (what the peer sent, the connect error, the close code).
    public var detail: String
    /// The code of a handshake rejection, exactly as the server sent it (known or not).
    public var handshakeCode: HandshakeErrorCode?
    /// The HTTP status of a refused WebSocket upgrade, when known.
    public var httpStatus: Int?
    /// The connect error, for connect failures.
    public var connectError: RiverConnectError?
    /// Whether the session had a live connection before this failure: "lost the connection"
    /// rather than "never connected".
    public var wasConnected: Bool
    /// For ``Kind/graceExpired`` and ``Kind/reconnectsDisabled``: the failure before.
    public var previous: RiverFailureCause? { previousStorage.first }
    private var previousStorage: [RiverFailureCause]

    /// Creates a cause.
    public init(
        _ kind: Kind, _ detail: String, handshakeCode: HandshakeErrorCode? = nil, httpStatus: Int? = nil,
        connectError: RiverConnectError? = nil, wasConnected: Bool = false, previous: RiverFailureCause? = nil
    ) {
        self.kind = kind
        self.detail = detail
        self.handshakeCode = handshakeCode
        self.httpStatus = httpStatus
        self.connectError = connectError
        self.wasConnected = wasConnected
        self.previousStorage = previous.map { [$0] } ?? []
    }

    /// The cause of a failed connection attempt, from the connector's error: a
    /// ``RiverConnectError``'s kind maps to a ``Kind`` (an upgrade refused with an HTTP status
    /// is ``Kind/httpStatus``, with the status in ``httpStatus``); any other error is
    /// ``Kind/connectFailed``.
    public init(connectFailure error: any Error) {
        guard let error = error as? RiverConnectError else {
            self.init(.connectFailed, "\(error)")
            return
        }
        let kind: Kind =
            switch error.kind {
            case .invalidURL: .invalidEndpoint
            case .refused: .connectRefused
            case .timedOut: .connectTimeout
            case .dnsFailure: .dnsFailure
            case .tls: .tls
            case .httpUpgrade: .httpStatus
            default: .connectFailed
            }
        self.init(kind, error.message, httpStatus: error.httpStatus, connectError: error)
    }

    /// The first failure of the chain (``previous`` followed to its end): for a grace period
    /// that expired while reconnecting, the last connect error.
    public var root: RiverFailureCause { previous?.root ?? self }

    /// Whether retrying cannot help (a malformed URL, unreadable TLS files).
    public var isPermanent: Bool { kind == .invalidEndpoint }

    /// `kind: detail`, then the failure before, if any.
    public var description: String {
        var text = "\(kind): \(detail)"
        if let handshakeCode { text += " [\(handshakeCode.rawValue)]" }
        if let previous { text += " (after \(previous))" }
        return text
    }

    /// Equal when every field is, comparing connect errors by their description.
    public static func == (lhs: RiverFailureCause, rhs: RiverFailureCause) -> Bool {
        lhs.kind == rhs.kind && lhs.detail == rhs.detail && lhs.handshakeCode == rhs.handshakeCode
            && lhs.httpStatus == rhs.httpStatus && lhs.wasConnected == rhs.wasConnected
            && lhs.connectError?.description == rhs.connectError?.description && lhs.previous == rhs.previous
    }
}

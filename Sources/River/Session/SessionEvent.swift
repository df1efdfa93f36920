/// Something that happened to a client's connection or session, for observers
/// (``RiverClient/events()``).
public enum RiverEvent: Sendable, Hashable {
    /// The connection status changed.
    case connectionStatus(ConnectionStatus)
    /// A session was created, resumed after a reconnect, or destroyed.
    case sessionStatus(SessionStatus)
    /// The protocol went wrong in a way the client reports (and, where the rules say so,
    /// acted on by destroying the session or closing the connection).
    case protocolError(ProtocolErrorEvent)

    /// Connection status changes.
    public enum ConnectionStatus: Sendable, Hashable {
        /// A connection attempt starts (after any backoff).
        case connecting(attempt: Int)
        /// The handshake succeeded: the session is live on a connection.
        case connected(sessionID: String)
        /// The connection was lost or closed.
        case disconnected(reason: String)
    }

    /// Session status changes.
    public enum SessionStatus: Sendable, Hashable {
        /// A new session was created (seq 0).
        case created(sessionID: String)
        /// An existing session resumed on a new connection, with `replayed` buffered
        /// messages sent again.
        case resumed(sessionID: String, replayed: Int)
        /// The session was destroyed; its calls failed with UNEXPECTED_DISCONNECT.
        case destroyed(sessionID: String, reason: String)
    }
}

/// A protocol error reported through ``RiverEvent/protocolError(_:)``.
public struct ProtocolErrorEvent: Sendable, Hashable, CustomStringConvertible {
    /// The kind of protocol error.
    public enum Kind: Sendable, Hashable {
        /// The server refused the handshake with `code`, or its reply was malformed
        /// (`code` is then nil).
        case handshakeFailed(code: HandshakeErrorCode?)
        /// The reconnect budget ran out.
        case retriesExceeded
        /// A message from the server broke the protocol (undecodable, wrong `from`, …).
        case invalidMessage
        /// A message could not be sent.
        case messageSendFailure
    }

    /// The kind.
    public var kind: Kind
    /// A readable explanation.
    public var message: String

    /// Creates an event.
    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// `kind: message`.
    public var description: String { "\(kind): \(message)" }
}

/// Something that happened to a client's connection or session, for observers
/// (``RiverClient/events(server:)``). Its ``description`` is a readable line.
public enum RiverEvent: Sendable, Hashable, CustomStringConvertible {
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

    /// A readable line, for logs and command-line tools.
    public var description: String {
        switch self {
        case .connectionStatus(.connecting(let attempt)):
            "connecting (attempt \(attempt))"
        case .connectionStatus(.connected(let sessionID)):
            "connected (session \(sessionID))"
        case .connectionStatus(.disconnected(let reason)):
            "disconnected: \(reason)"
        case .sessionStatus(.created(let sessionID)):
            "session \(sessionID) created"
        case .sessionStatus(.resumed(let sessionID, let replayed)):
            "session \(sessionID) resumed on a new connection (\(replayed) buffered message\(replayed == 1 ? "" : "s") replayed)"
        case .sessionStatus(.destroyed(let sessionID, let reason)):
            "session \(sessionID) destroyed: \(reason)"
        case .protocolError(let error):
            "protocol error: \(error)"
        }
    }
}

/// A protocol error reported through ``RiverEvent/protocolError(_:)``.
public struct ProtocolErrorEvent: Sendable, Hashable, CustomStringConvertible {
    /// The kind of protocol error.
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        /// The server refused the handshake with `code`, or its reply was malformed
        /// (`code` is then nil).
        case handshakeFailed(code: HandshakeErrorCode?)
        /// The reconnect budget ran out.
        case retriesExceeded
        /// A message from the server broke the protocol (undecodable, wrong `from`, …).
        case invalidMessage
        /// A message could not be sent.
        case messageSendFailure

        /// A readable name (with the handshake rejection's wire code).
        public var description: String {
            switch self {
            case .handshakeFailed(let code?): "handshake failed (\(code.rawValue))"
            case .handshakeFailed(nil): "handshake failed"
            case .retriesExceeded: "retries exceeded"
            case .invalidMessage: "invalid message"
            case .messageSendFailure: "message send failure"
            }
        }
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

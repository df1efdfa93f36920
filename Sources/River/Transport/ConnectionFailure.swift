/// How a connection ended.
public struct RiverConnectionClosure: Sendable, CustomStringConvertible {
    /// Why a connection ended, as far as the connection itself knows: a value a program can
    /// switch on, next to the wire ``RiverConnectionClosure/code``.
    ///
    /// The set of reasons may grow: switch with a `default` case.
    public struct Cause: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case closedByPeer, closedLocally, aborted, dropped, frameTooLarge, protocolViolation, writeFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The peer sent a close frame (its code and reason are in the closure).
        public static let closedByPeer = Cause(.closedByPeer)
        /// This side closed cleanly (``RiverConnection/close(code:reason:)``).
        public static let closedLocally = Cause(.closedLocally)
        /// This side dropped the connection without a close frame (``RiverConnection/abort()``).
        public static let aborted = Cause(.aborted)
        /// The connection went away without a close frame (reset, end of stream, network loss).
        public static let dropped = Cause(.dropped)
        /// The peer announced or sent a message larger than the maximum message size; this side
        /// closed with code 1009 (message too big).
        public static let frameTooLarge = Cause(.frameTooLarge)
        /// The peer broke the WebSocket protocol (a malformed or forbidden frame); this side
        /// closed with code 1002 (protocol error), the reason says what the peer did.
        public static let protocolViolation = Cause(.protocolViolation)
        /// Writing to the socket failed.
        public static let writeFailed = Cause(.writeFailed)

        /// The cause's name, for example `frameTooLarge`.
        public var description: String { base.rawValue }
    }

    /// The close code the peer sent, or `nil` when the connection dropped without one.
    public var code: UInt16?
    /// The close reason the peer sent, or a description of the failure.
    public var reason: String
    /// Whether this side initiated the close or abort.
    public var initiatedLocally: Bool
    /// Why the connection ended.
    public var cause: Cause

    /// Creates a closure description.
    /// - Parameters:
    ///   - code: The close code, `nil` when there was no close frame.
    ///   - reason: The close reason or a description of the failure.
    ///   - initiatedLocally: Whether this side closed or aborted.
    ///   - cause: Why the connection ended; by default derived from the other parameters
    ///     (`closedLocally` or `closedByPeer` with a code, else `aborted` or `dropped`).
    public init(code: UInt16?, reason: String, initiatedLocally: Bool, cause: Cause? = nil) {
        self.code = code
        self.reason = reason
        self.initiatedLocally = initiatedLocally
        self.cause = cause ?? (code != nil
            ? (initiatedLocally ? .closedLocally : .closedByPeer)
            : (initiatedLocally ? .aborted : .dropped))
    }

    /// A readable summary.
    public var description: String {
        let who = initiatedLocally ? "locally" : "by peer"
        let because = cause == .frameTooLarge || cause == .protocolViolation || cause == .writeFailed ? " (\(cause))" : ""
        if let code { return "closed \(who) with code \(code)\(reason.isEmpty ? "" : ": \(reason)")\(because)" }
        return "dropped \(who)\(reason.isEmpty ? "" : ": \(reason)")\(because)"
    }
}

/// Why a connection could not be opened: a ``Kind`` to switch on, a readable message, and what
/// the connection attempt itself observed (the system error, the HTTP status of a refused
/// upgrade, the TLS library's verdict).
public struct RiverConnectError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. The set of kinds may grow: switch with a `default` case.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidURL, refused, timedOut, dnsFailure, tls, httpUpgrade, closedDuringHandshake, other
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The URL could not be parsed or uses an unsupported scheme.
        public static let invalidURL = Kind(.invalidURL)
        /// The TCP connection could not be made: nothing listens at the address (or the network
        /// refused the way there).
        public static let refused = Kind(.refused)
        /// The connection (name resolution, TCP, TLS and the HTTP upgrade together) did not
        /// open within the connection timeout.
        public static let timedOut = Kind(.timedOut)
        /// The host name did not resolve.
        public static let dnsFailure = Kind(.dnsFailure)
        /// TLS failed: certificate verification, the handshake, or unreadable TLS files
        /// (``RiverConnectError/tlsDetail`` says which).
        public static let tls = Kind(.tls)
        /// The server answered the WebSocket upgrade with something other than a valid
        /// `101 Switching Protocols` (``RiverConnectError/httpStatus`` holds its status).
        public static let httpUpgrade = Kind(.httpUpgrade)
        /// The server accepted the TCP connection, then closed or reset it before the upgrade
        /// completed.
        public static let closedDuringHandshake = Kind(.closedDuringHandshake)
        /// Any other failure (for example an upgrade header with a line break).
        public static let other = Kind(.other)

        /// The kind's name, for example `refused`.
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var kind: Kind
    /// A readable explanation, naming the endpoint.
    public var message: String
    /// The system error number (`errno`) this connection attempt observed, when there was one.
    public var systemError: Int32?
    /// The HTTP status the server answered the upgrade with (for example 403), when it
    /// answered with one other than 101.
    public var httpStatus: Int?
    /// What the TLS library reported for this attempt (for example "certificate verify
    /// failed: unable to get local issuer certificate"), for ``Kind/tls`` failures.
    public var tlsDetail: String?

    /// Creates an error.
    /// - Parameters:
    ///   - kind: The kind of failure.
    ///   - message: A readable explanation.
    ///   - systemError: The `errno` observed, if any.
    ///   - httpStatus: The HTTP status of a refused upgrade, if any.
    ///   - tlsDetail: The TLS library's reason, if any.
    public init(_ kind: Kind, _ message: String, systemError: Int32? = nil, httpStatus: Int? = nil, tlsDetail: String? = nil) {
        self.kind = kind
        self.message = message
        self.systemError = systemError
        self.httpStatus = httpStatus
        self.tlsDetail = tlsDetail
    }

    /// `kind: message`.
    public var description: String { "\(kind): \(message)" }
}

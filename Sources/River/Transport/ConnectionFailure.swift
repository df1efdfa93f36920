/// How a connection ended.
public struct RiverConnectionClosure: Sendable, CustomStringConvertible {
    /// The close code the peer sent, or `nil` when the connection dropped without one.
    public var code: UInt16?
    /// The close reason the peer sent, or a description of the failure.
    public var reason: String
    /// Whether this side initiated the close or abort.
    public var initiatedLocally: Bool

    /// Creates a closure description.
    public init(code: UInt16?, reason: String, initiatedLocally: Bool) {
        self.code = code
        self.reason = reason
        self.initiatedLocally = initiatedLocally
    }

    /// A readable summary.
    public var description: String {
        let who = initiatedLocally ? "locally" : "by peer"
        if let code { return "closed \(who) with code \(code)\(reason.isEmpty ? "" : ": \(reason)")" }
        return "dropped \(who)\(reason.isEmpty ? "" : ": \(reason)")"
    }
}

/// Why a connection could not be opened.
public struct RiverConnectError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidURL, refused, timedOut, dnsFailure, tls, httpUpgrade, other
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The URL could not be parsed or uses an unsupported scheme.
        public static let invalidURL = Kind(.invalidURL)
        /// Nothing listens at the address.
        public static let refused = Kind(.refused)
        /// The socket did not open within the connection timeout.
        public static let timedOut = Kind(.timedOut)
        /// The host name did not resolve.
        public static let dnsFailure = Kind(.dnsFailure)
        /// TLS failed (certificate, handshake).
        public static let tls = Kind(.tls)
        /// The server did not accept the WebSocket upgrade.
        public static let httpUpgrade = Kind(.httpUpgrade)
        /// Any other failure.
        public static let other = Kind(.other)

        /// The kind's name.
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var kind: Kind
    /// A readable explanation.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `kind: message`.
    public var description: String { "\(kind): \(message)" }
}

/// An error thrown by a River call: a protocol error from the server or the session, or a
/// local error. Service errors a procedure declares are not thrown; they are the `failure`
/// case of the call's `Result`.
///
/// Codes from the wire and codes this client raises are kept apart (``Code/isLocal``): a
/// server that sends `"DEADLINE_EXCEEDED"` produces a code that is not equal to
/// ``Code/deadlineExceeded``. An error caused by the connection or the session carries that
/// ``cause``, and ``underlying`` is never nil then.
public struct RiverError: Error, Sendable, CustomStringConvertible {
    /// An extensible error code. Protocol codes keep their wire spelling in ``rawValue``.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code's spelling (the wire code for protocol errors).
        public var rawValue: String
        /// Whether this client raised the code itself; `false` for codes from the wire.
        public let isLocal: Bool

        /// Creates a code as it came from the wire (or as a service declares it). It never
        /// equals one of the local codes, whatever its spelling.
        public init(rawValue: String) {
            self.rawValue = rawValue
            self.isLocal = false
        }

        private init(local rawValue: String) {
            self.rawValue = rawValue
            self.isLocal = true
        }

        /// Equal when spelled the same and from the same side (wire or local).
        public static func == (lhs: Code, rhs: Code) -> Bool {
            lhs.rawValue == rhs.rawValue && lhs.isLocal == rhs.isLocal
        }

        /// Hashes the spelling and the side.
        public func hash(into hasher: inout Hasher) {
            hasher.combine(rawValue)
            hasher.combine(isLocal)
        }

        /// The server's handler threw (`UNCAUGHT_ERROR`).
        public static let uncaughtError = Code(rawValue: ReservedErrorCode.uncaughtError)
        /// The server rejected the request (`INVALID_REQUEST`); see ``RiverError/extras``.
        public static let invalidRequest = Code(rawValue: ReservedErrorCode.invalidRequest)
        /// The stream was cancelled by the server or by this client (`CANCEL`).
        public static let cancel = Code(rawValue: ReservedErrorCode.cancel)
        /// The session was lost or the client is closed (`UNEXPECTED_DISCONNECT`).
        public static let unexpectedDisconnect = Code(rawValue: ReservedErrorCode.unexpectedDisconnect)

        /// Local: a request could not be encoded.
        public static let encodingFailure = Code(local: "ENCODING_FAILURE")
        /// Local: a response did not decode into the expected type.
        public static let decodingFailure = Code(local: "DECODING_FAILURE")
        /// Local: a request is larger than the maximum payload size.
        public static let payloadTooLarge = Code(local: "PAYLOAD_TOO_LARGE")
        /// Local: the call's deadline passed.
        public static let deadlineExceeded = Code(local: "DEADLINE_EXCEEDED")
        /// Local: the call named a server this client does not know (``CallOptions/server``).
        public static let unknownServer = Code(local: "UNKNOWN_SERVER")
        /// Local: the peer broke the protocol for this call.
        public static let protocolViolation = Code(local: "PROTOCOL_VIOLATION")
        /// Local: ``RiverClient/run()`` was called while the client is already running.
        public static let clientAlreadyRunning = Code(local: "CLIENT_ALREADY_RUNNING")
        /// Local: ``RiverClient/run()`` was called on a client that has stopped (a client runs once).
        public static let clientStopped = Code(local: "CLIENT_STOPPED")
        /// Local: a ``SubscriptionGroup`` member was added under a key a current member has.
        public static let duplicateKey = Code(local: "DUPLICATE_KEY")

        /// The spelling.
        public var description: String { rawValue }

        /// Whether the code is one of River's reserved protocol error codes.
        public var isProtocolError: Bool { ReservedErrorCode.all.contains(rawValue) }
    }

    /// The error code.
    public var code: Code
    /// A human-readable message.
    public var message: String
    /// Structured detail from the server (for example INVALID_REQUEST validation errors).
    public var extras: RiverValue?
    /// The underlying error, when there is one (the connect error, or the ``cause``).
    public var underlying: (any Error)?
    /// Why the connection or session failed, when that is what ended the call.
    public var cause: RiverFailureCause?

    /// Creates an error.
    public init(
        code: Code, message: String, extras: RiverValue? = nil, underlying: (any Error)? = nil,
        cause: RiverFailureCause? = nil
    ) {
        self.code = code
        self.message = message
        self.extras = extras
        self.cause = cause
        if let underlying {
            self.underlying = underlying
        } else if let cause {
            self.underlying = cause.root.connectError.map { $0 as any Error } ?? cause
        } else {
            self.underlying = nil
        }
    }

    /// `CODE: message`, with the underlying error when present (the message already names a
    /// ``cause``).
    public var description: String {
        var text = "\(code): \(message)"
        if cause == nil, let underlying { text += " (\(underlying))" }
        return text
    }

    /// The error a call ends with because its connection or session failed with `cause`:
    /// UNEXPECTED_DISCONNECT, its message telling "could not connect" from "lost the
    /// connection".
    package static func sessionFailure(_ cause: RiverFailureCause, server: String) -> RiverError {
        let message =
            switch cause.kind {
            case .clientClosed: "the client is closed"
            case .clientShuttingDown: "the client is shutting down and accepts no new calls"
            case .hardDisconnect: "the session with \(server) was destroyed by hardDisconnect()"
            default:
                cause.wasConnected
                    ? "lost the connection to \(server): \(cause)" : "could not connect to \(server): \(cause)"
            }
        return RiverError(code: .unexpectedDisconnect, message: message, cause: cause)
    }
}

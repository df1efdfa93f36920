/// An error thrown by a River call: a protocol error from the server or the session, or a
/// local error. Service errors a procedure declares are not thrown; they are the `failure`
/// case of the call's `Result`.
public struct RiverError: Error, Sendable, CustomStringConvertible {
    /// An extensible error code. Protocol codes keep their wire spelling in ``rawValue``.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code's spelling (the wire code for protocol errors).
        public var rawValue: String
        /// Creates a code.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The server's handler threw (`UNCAUGHT_ERROR`).
        public static let uncaughtError = Code(rawValue: ReservedErrorCode.uncaughtError)
        /// The server rejected the request (`INVALID_REQUEST`); see ``RiverError/extras``.
        public static let invalidRequest = Code(rawValue: ReservedErrorCode.invalidRequest)
        /// The stream was cancelled by the server or by this client (`CANCEL`).
        public static let cancel = Code(rawValue: ReservedErrorCode.cancel)
        /// The session was lost or the client is closed (`UNEXPECTED_DISCONNECT`).
        public static let unexpectedDisconnect = Code(rawValue: ReservedErrorCode.unexpectedDisconnect)

        /// Local: a request could not be encoded.
        public static let encodingFailure = Code(rawValue: "ENCODING_FAILURE")
        /// Local: a response did not decode into the expected type.
        public static let decodingFailure = Code(rawValue: "DECODING_FAILURE")
        /// Local: a request is larger than the maximum payload size.
        public static let payloadTooLarge = Code(rawValue: "PAYLOAD_TOO_LARGE")
        /// Local: the call's deadline passed.
        public static let deadlineExceeded = Code(rawValue: "DEADLINE_EXCEEDED")
        /// Local: the call named a server this client does not know (``CallOptions/server``).
        public static let unknownServer = Code(rawValue: "UNKNOWN_SERVER")
        /// Local: the peer broke the protocol for this call.
        public static let protocolViolation = Code(rawValue: "PROTOCOL_VIOLATION")

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
    /// The underlying error, when there is one.
    public var underlying: (any Error)?

    /// Creates an error.
    public init(code: Code, message: String, extras: RiverValue? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.extras = extras
        self.underlying = underlying
    }

    /// `CODE: message`, with the underlying error when present.
    public var description: String {
        var text = "\(code): \(message)"
        if let underlying { text += " (\(underlying))" }
        return text
    }
}

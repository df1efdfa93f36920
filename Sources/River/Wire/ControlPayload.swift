/// The River protocol version this package speaks.
public let riverProtocolVersion = "v2.0"

/// Why a server refused a handshake (`HANDSHAKE_RESP` with `ok: false`).
///
/// An extensible set: codes this package does not know are kept as they came.
public struct HandshakeErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The code as it travels on the wire.
    public var rawValue: String

    /// Creates a code from its wire form.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The server has no session matching the client's claimed state; retry with a new session.
    public static let sessionStateMismatch = HandshakeErrorCode(rawValue: "SESSION_STATE_MISMATCH")
    /// The handshake request was not well formed.
    public static let malformedHandshake = HandshakeErrorCode(rawValue: "MALFORMED_HANDSHAKE")
    /// The handshake metadata did not match the server's schema.
    public static let malformedHandshakeMeta = HandshakeErrorCode(rawValue: "MALFORMED_HANDSHAKE_META")
    /// The client speaks another protocol version.
    public static let protocolVersionMismatch = HandshakeErrorCode(rawValue: "PROTOCOL_VERSION_MISMATCH")
    /// The server's handshake handler refused the metadata.
    public static let rejectedByCustomHandler = HandshakeErrorCode(rawValue: "REJECTED_BY_CUSTOM_HANDLER")
    /// The server refuses this client (for example, too old).
    public static let rejectedUnsupportedClient = HandshakeErrorCode(rawValue: "REJECTED_UNSUPPORTED_CLIENT")

    /// Whether a client may retry with a brand-new session (only ``sessionStateMismatch``).
    public var isRetriable: Bool { self == .sessionStateMismatch }

    /// The wire form.
    public var description: String { rawValue }
}

/// The session state a client claims in its handshake.
public struct ExpectedSessionState: Sendable, Hashable {
    /// The next sequence number the client expects from the server (its ack).
    public var nextExpectedSeq: Int
    /// The seq of the client's oldest unacknowledged message, else its next seq.
    public var nextSentSeq: Int

    /// Creates a claimed state.
    public init(nextExpectedSeq: Int, nextSentSeq: Int) {
        self.nextExpectedSeq = nextExpectedSeq
        self.nextSentSeq = nextSentSeq
    }
}

/// The client's `HANDSHAKE_REQ` payload.
public struct HandshakeRequest: Sendable, Hashable {
    /// The protocol version; always ``riverProtocolVersion`` when sent by this package.
    public var protocolVersion: String
    /// The session the client wants to open or resume.
    public var sessionId: String
    /// The client's view of the session.
    public var expectedSessionState: ExpectedSessionState
    /// Application metadata for the server's handshake handler; omitted when `nil`.
    public var metadata: RiverValue?

    /// Creates a handshake request.
    public init(
        protocolVersion: String = riverProtocolVersion,
        sessionId: String,
        expectedSessionState: ExpectedSessionState,
        metadata: RiverValue? = nil
    ) {
        self.protocolVersion = protocolVersion
        self.sessionId = sessionId
        self.expectedSessionState = expectedSessionState
        self.metadata = metadata
    }
}

/// The server's `HANDSHAKE_RESP` status.
public enum HandshakeResponse: Sendable, Hashable {
    /// Accepted: the session id the server agreed to.
    case ok(sessionId: String)
    /// Refused, with a code and a human-readable reason.
    case error(code: HandshakeErrorCode, reason: String)
}

/// A control payload: the protocol's own messages, as opposed to user data and results.
public enum ControlPayload: Sendable, Hashable {
    /// `{type: "ACK"}`: a heartbeat.
    case ack
    /// `{type: "CLOSE"}`: the sender closes its side of a stream.
    case close
    /// `{type: "HANDSHAKE_REQ", ...}`.
    case handshakeRequest(HandshakeRequest)
    /// `{type: "HANDSHAKE_RESP", status}`.
    case handshakeResponse(HandshakeResponse)
    /// `{type: "REHANDSHAKE_REQ"}`: the server asks for fresh metadata.
    case rehandshakeRequest
    /// `{type: "REHANDSHAKE_RESP", metadata}`.
    case rehandshakeResponse(metadata: RiverValue)
}

/// A payload that does not have the shape the protocol requires.
public struct PayloadShapeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong, naming the path of the offending field.
    public var description: String

    /// Creates an error with a description.
    public init(_ description: String) { self.description = description }
}

extension ControlPayload {
    /// The payload as a value ready to put into a ``TransportMessage``.
    public var value: RiverValue {
        switch self {
        case .ack:
            return ["type": "ACK"]
        case .close:
            return ["type": "CLOSE"]
        case .rehandshakeRequest:
            return ["type": "REHANDSHAKE_REQ"]
        case .rehandshakeResponse(let metadata):
            return ["type": "REHANDSHAKE_RESP", "metadata": metadata]
        case .handshakeRequest(let request):
            var fields: [String: RiverValue] = [
                "type": "HANDSHAKE_REQ",
                "protocolVersion": .string(request.protocolVersion),
                "sessionId": .string(request.sessionId),
                "expectedSessionState": [
                    "nextExpectedSeq": .int(Int64(request.expectedSessionState.nextExpectedSeq)),
                    "nextSentSeq": .int(Int64(request.expectedSessionState.nextSentSeq)),
                ],
            ]
            if let metadata = request.metadata { fields["metadata"] = metadata }
            return .object(fields)
        case .handshakeResponse(.ok(let sessionId)):
            return ["type": "HANDSHAKE_RESP", "status": ["ok": true, "sessionId": .string(sessionId)]]
        case .handshakeResponse(.error(let code, let reason)):
            return [
                "type": "HANDSHAKE_RESP",
                "status": ["ok": false, "code": .string(code.rawValue), "reason": .string(reason)],
            ]
        }
    }

    /// Parses a control payload.
    ///
    /// - Parameter value: A message payload.
    /// - Returns: The control payload, or `nil` when `value` has no recognised `type`
    ///   (it is then user data or a result).
    /// - Throws: ``PayloadShapeError`` when the `type` is known but the rest is malformed.
    public static func parse(_ value: RiverValue) throws(PayloadShapeError) -> ControlPayload? {
        guard case .object(let fields) = value, case .string(let type)? = fields["type"] else { return nil }
        switch type {
        case "ACK": return .ack
        case "CLOSE": return .close
        case "REHANDSHAKE_REQ": return .rehandshakeRequest
        case "REHANDSHAKE_RESP":
            return .rehandshakeResponse(metadata: fields["metadata"] ?? .null)
        case "HANDSHAKE_REQ":
            guard case .string(let version)? = fields["protocolVersion"] else {
                throw PayloadShapeError("HANDSHAKE_REQ: /protocolVersion must be a string")
            }
            guard case .string(let sessionId)? = fields["sessionId"] else {
                throw PayloadShapeError("HANDSHAKE_REQ: /sessionId must be a string")
            }
            guard case .object(let state)? = fields["expectedSessionState"],
                let expected = state["nextExpectedSeq"]?.int64Value,
                let sent = state["nextSentSeq"]?.int64Value
            else {
                throw PayloadShapeError("HANDSHAKE_REQ: /expectedSessionState must hold integer nextExpectedSeq and nextSentSeq")
            }
            return .handshakeRequest(
                HandshakeRequest(
                    protocolVersion: version,
                    sessionId: sessionId,
                    expectedSessionState: ExpectedSessionState(nextExpectedSeq: Int(expected), nextSentSeq: Int(sent)),
                    metadata: fields["metadata"]
                ))
        case "HANDSHAKE_RESP":
            guard case .object(let status)? = fields["status"], case .bool(let ok)? = status["ok"] else {
                throw PayloadShapeError("HANDSHAKE_RESP: /status/ok must be a boolean")
            }
            if ok {
                guard case .string(let sessionId)? = status["sessionId"] else {
                    throw PayloadShapeError("HANDSHAKE_RESP: /status/sessionId must be a string")
                }
                return .handshakeResponse(.ok(sessionId: sessionId))
            }
            guard case .string(let code)? = status["code"] else {
                throw PayloadShapeError("HANDSHAKE_RESP: /status/code must be a string")
            }
            guard case .string(let reason)? = status["reason"] else {
                throw PayloadShapeError("HANDSHAKE_RESP: /status/reason must be a string")
            }
            return .handshakeResponse(.error(code: HandshakeErrorCode(rawValue: code), reason: reason))
        default:
            return nil
        }
    }
}

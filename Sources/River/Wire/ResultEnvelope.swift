/// The error codes River itself reserves; every procedure's error union includes them.
public enum ReservedErrorCode {
    /// The server handler threw.
    public static let uncaughtError = "UNCAUGHT_ERROR"
    /// The request did not match the server's services or schemas.
    public static let invalidRequest = "INVALID_REQUEST"
    /// One side cancelled the stream.
    public static let cancel = "CANCEL"
    /// Made by the client: the session carrying the call was lost.
    public static let unexpectedDisconnect = "UNEXPECTED_DISCONNECT"

    /// All four reserved codes.
    public static let all: Set<String> = [uncaughtError, invalidRequest, cancel, unexpectedDisconnect]
}

/// The error half of a result: `{code, message, extras?}`.
public struct ErrorPayload: Sendable, Hashable {
    /// The error code (a reserved code or one the procedure declares).
    public var code: String
    /// A human-readable message.
    public var message: String
    /// Extra structured detail, for example validation errors of INVALID_REQUEST.
    public var extras: RiverValue?

    /// Creates an error payload.
    public init(code: String, message: String, extras: RiverValue? = nil) {
        self.code = code
        self.message = message
        self.extras = extras
    }

    /// The payload as a value (`extras` omitted when `nil`).
    public var value: RiverValue {
        var fields: [String: RiverValue] = ["code": .string(code), "message": .string(message)]
        if let extras { fields["extras"] = extras }
        return .object(fields)
    }
}

/// A result as it travels: `{ok: true, payload}` or `{ok: false, payload: {code, message, extras?}}`.
public enum ResultEnvelope: Sendable, Hashable {
    /// A successful result.
    case ok(RiverValue)
    /// An error result.
    case error(ErrorPayload)

    /// The envelope as a value.
    public var value: RiverValue {
        switch self {
        case .ok(let payload): return ["ok": true, "payload": payload]
        case .error(let error): return ["ok": false, "payload": error.value]
        }
    }

    /// Parses a result envelope.
    ///
    /// - Throws: ``PayloadShapeError`` naming the offending path when `value` is not a
    ///   well-formed envelope.
    public init(parsing value: RiverValue) throws(PayloadShapeError) {
        guard case .object(let fields) = value else {
            throw PayloadShapeError("result: expected an object, got \(value.kindName)")
        }
        guard case .bool(let ok)? = fields["ok"] else {
            throw PayloadShapeError("result: /ok must be a boolean")
        }
        let payload = fields["payload"] ?? .null
        if ok {
            self = .ok(payload)
            return
        }
        guard case .object(let error) = payload else {
            throw PayloadShapeError("result: /payload of an error must be an object")
        }
        guard case .string(let code)? = error["code"] else {
            throw PayloadShapeError("result: /payload/code must be a string")
        }
        guard case .string(let message)? = error["message"] else {
            throw PayloadShapeError("result: /payload/message must be a string")
        }
        self = .error(ErrorPayload(code: code, message: message, extras: error["extras"]))
    }
}

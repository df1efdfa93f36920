package import River
public import SwiftProtobuf

/// The error of a protobuf-service call: a gRPC/Connect-style code with a message, optional
/// string metadata and protobuf-typed details, as River's protobuf router sends them
/// (`ClientError` of `@replit/river/protobuf`).
///
/// Every failure of a call arrives as this one type: errors the server's handler returned
/// (``Code-swift.struct/invalidArgument``, ``Code-swift.struct/notFound``, …), River's protocol
/// errors (``Code-swift.struct/cancel``, ``Code-swift.struct/uncaughtError``, …) and local
/// failures (a deadline, a lost session, a response that does not decode), which keep the
/// ``RiverError`` they came from in ``underlying``. A code this package does not know is kept
/// as sent.
public struct ProtobufRPCError: Error, Sendable, CustomStringConvertible {
    /// An extensible error code: its ``rawValue`` is the wire spelling.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The wire spelling (`INVALID_ARGUMENT`, `CANCEL`, …).
        public var rawValue: String
        /// Creates a code from its spelling.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The spelling.
        public var description: String { rawValue }

        /// `OK` (never an error on the wire; listed because River's enum has it).
        public static let ok = Code(rawValue: "OK")
        /// `CANCELED`: the operation was cancelled (a handler's choice; River's own cancel is ``cancel``).
        public static let canceled = Code(rawValue: "CANCELED")
        /// `UNKNOWN`.
        public static let unknown = Code(rawValue: "UNKNOWN")
        /// `INVALID_ARGUMENT`.
        public static let invalidArgument = Code(rawValue: "INVALID_ARGUMENT")
        /// `DEADLINE_EXCEEDED` (also what a local deadline reports).
        public static let deadlineExceeded = Code(rawValue: "DEADLINE_EXCEEDED")
        /// `NOT_FOUND`.
        public static let notFound = Code(rawValue: "NOT_FOUND")
        /// `ALREADY_EXISTS`.
        public static let alreadyExists = Code(rawValue: "ALREADY_EXISTS")
        /// `PERMISSION_DENIED`.
        public static let permissionDenied = Code(rawValue: "PERMISSION_DENIED")
        /// `RESOURCE_EXHAUSTED`.
        public static let resourceExhausted = Code(rawValue: "RESOURCE_EXHAUSTED")
        /// `FAILED_PRECONDITION`.
        public static let failedPrecondition = Code(rawValue: "FAILED_PRECONDITION")
        /// `ABORTED`.
        public static let aborted = Code(rawValue: "ABORTED")
        /// `OUT_OF_RANGE`.
        public static let outOfRange = Code(rawValue: "OUT_OF_RANGE")
        /// `UNIMPLEMENTED`: the server has no such method.
        public static let unimplemented = Code(rawValue: "UNIMPLEMENTED")
        /// `INTERNAL`.
        public static let `internal` = Code(rawValue: "INTERNAL")
        /// `UNAVAILABLE`.
        public static let unavailable = Code(rawValue: "UNAVAILABLE")
        /// `DATA_LOSS`.
        public static let dataLoss = Code(rawValue: "DATA_LOSS")
        /// `UNAUTHENTICATED`.
        public static let unauthenticated = Code(rawValue: "UNAUTHENTICATED")

        /// River protocol: the stream was cancelled by the server's handler or this client (`CANCEL`).
        public static let cancel = Code(rawValue: ReservedErrorCode.cancel)
        /// River protocol: the request was malformed (`INVALID_REQUEST`).
        public static let invalidRequest = Code(rawValue: ReservedErrorCode.invalidRequest)
        /// River protocol: the handler threw (`UNCAUGHT_ERROR`).
        public static let uncaughtError = Code(rawValue: ReservedErrorCode.uncaughtError)
        /// River protocol, made by the client: the session was lost (`UNEXPECTED_DISCONNECT`).
        public static let unexpectedDisconnect = Code(rawValue: ReservedErrorCode.unexpectedDisconnect)

        /// The sixteen gRPC/Connect codes of River's `RiverErrorCode` (without `OK`).
        public static let rpcCodes: Set<Code> = [
            .canceled, .unknown, .invalidArgument, .deadlineExceeded, .notFound, .alreadyExists, .permissionDenied,
            .resourceExhausted, .failedPrecondition, .aborted, .outOfRange, .unimplemented, .internal, .unavailable,
            .dataLoss, .unauthenticated,
        ]

        /// Whether this is one of River's four protocol error codes.
        public var isProtocolError: Bool { ReservedErrorCode.all.contains(rawValue) }
    }

    /// One error detail: a protobuf message named by its full type name.
    public struct Detail: Sendable, Hashable {
        /// The message's full protobuf name (for example `google.rpc.BadRequest`).
        public var typeName: String
        /// The message's serialized bytes.
        public var value: [UInt8]

        /// Creates a detail from its parts.
        public init(typeName: String, value: [UInt8]) {
            self.typeName = typeName
            self.value = value
        }

        /// Creates a detail carrying `message`.
        /// - Throws: `SwiftProtobuf.BinaryEncodingError` when the message cannot be serialized.
        public init(_ message: some SwiftProtobuf.Message) throws {
            self.init(typeName: type(of: message).protoMessageName, value: try message.serializedBytes())
        }

        /// The detail decoded as `type`, or `nil` when it carries another type.
        /// - Throws: `SwiftProtobuf.BinaryDecodingError` when the type matches but the bytes do not decode.
        public func unpack<M: SwiftProtobuf.Message>(_ type: M.Type) throws -> M? {
            guard typeName == M.protoMessageName else { return nil }
            return try M(serializedBytes: value)
        }
    }

    /// The error code.
    public var code: Code
    /// The server's (or this client's) message.
    public var message: String
    /// String metadata the server attached.
    public var metadata: [String: String]
    /// Typed details the server attached, in order.
    public var details: [Detail]
    /// The local error this one stands for (a deadline, a lost session, a decoding failure).
    public var underlying: (any Error)?

    /// Creates an error.
    public init(code: Code, message: String, metadata: [String: String] = [:], details: [Detail] = [], underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.metadata = metadata
        self.details = details
        self.underlying = underlying
    }

    /// The details that carry `type`, decoded (others are skipped).
    /// - Throws: `SwiftProtobuf.BinaryDecodingError` when a detail of that type does not decode.
    public func details<M: SwiftProtobuf.Message>(_ type: M.Type) throws -> [M] {
        try details.compactMap { try $0.unpack(type) }
    }

    /// `CODE: message`.
    public var description: String { "\(code): \(message)" }
}

extension ProtobufRPCError: RiverCodedError {
    /// The code's wire spelling, for the call's span and log lines.
    package var riverCode: String { code.rawValue }
    /// The message, for the call's span and log lines.
    package var riverMessage: String { message }

    /// The same failure of a River call, with its code kept.
    package init(_ error: RiverError) {
        self.init(code: Code(rawValue: error.code.rawValue), message: error.message, underlying: error)
    }

    /// Parses the `{code, message, metadata?, details?}` body of an `{ok: false}` result.
    /// - Returns: `nil` when `payload` is not such a body.
    package init?(errorBody payload: RiverValue) {
        guard case .object(let fields) = payload, case .string(let code)? = fields["code"],
            case .string(let message)? = fields["message"]
        else { return nil }
        var metadata: [String: String] = [:]
        if case .object(let entries)? = fields["metadata"] {
            for (key, value) in entries {
                guard case .string(let text) = value else { return nil }
                metadata[key] = text
            }
        }
        var details: [Detail] = []
        if case .array(let entries)? = fields["details"] {
            for entry in entries {
                guard case .string(let typeName)? = entry["typeName"], case .bytes(let value)? = entry["value"] else { return nil }
                details.append(Detail(typeName: typeName, value: value))
            }
        }
        self.init(code: Code(rawValue: code), message: message, metadata: metadata, details: details)
    }

    /// Parses an `{ok: false, payload: {code, message, …}}` result.
    /// - Returns: `nil` when `value` is not an error result.
    package init?(errorResult value: RiverValue) {
        guard case .bool(false)? = value["ok"], let body = value["payload"] else { return nil }
        self.init(errorBody: body)
    }

    /// The `{ok: false, payload: {code, message, metadata?, details?}}` result as the server sends it.
    package var errorResult: RiverValue {
        var body: [String: RiverValue] = ["code": .string(code.rawValue), "message": .string(message)]
        if !metadata.isEmpty { body["metadata"] = .object(metadata.mapValues { .string($0) }) }
        if !details.isEmpty {
            body["details"] = .array(details.map { ["typeName": .string($0.typeName), "value": .bytes($0.value)] })
        }
        return ["ok": false, "payload": .object(body)]
    }
}

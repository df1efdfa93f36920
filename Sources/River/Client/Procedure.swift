/// The four kinds of River procedure. A closed set.
@frozen
public enum ProcedureKind: String, Sendable, Hashable, CaseIterable {
    /// One init in, one result out.
    case rpc
    /// An init, then requests in; one result out.
    case upload
    /// An init in; results out until the server closes.
    case subscription
    /// An init and requests in; results out; both sides close independently.
    case stream
}

/// A payload type a procedure sends: `Encodable` and `Sendable`.
public typealias RiverRequestPayload = Encodable & Sendable
/// A payload type a procedure receives: `Decodable` and `Sendable`.
public typealias RiverResponsePayload = Decodable & Sendable
/// A procedure's declared service error: a `Decodable` `Error` (see ``RiverServiceError``).
public typealias RiverServiceFailure = Error & Decodable & Sendable

/// An rpc procedure: `Init` in, one `Result<Output, Failure>` out.
///
/// Descriptors are plain values naming a procedure and its types; generated code declares one
/// per procedure, and the procedure kind is part of the type, so calling an rpc as a stream
/// does not compile.
public struct RPCProcedure<Init: RiverRequestPayload, Output: RiverResponsePayload, Failure: RiverServiceFailure>: Sendable, Hashable {
    /// The service name on the wire.
    public var serviceName: String
    /// The procedure name on the wire.
    public var procedureName: String
    /// Creates a descriptor.
    public init(service serviceName: String, procedure procedureName: String) {
        self.serviceName = serviceName
        self.procedureName = procedureName
    }
}

/// An upload procedure: `Init`, then `Input` requests in; one `Result<Output, Failure>` out.
public struct UploadProcedure<Init: RiverRequestPayload, Input: RiverRequestPayload, Output: RiverResponsePayload, Failure: RiverServiceFailure>: Sendable, Hashable {
    /// The service name on the wire.
    public var serviceName: String
    /// The procedure name on the wire.
    public var procedureName: String
    /// Creates a descriptor.
    public init(service serviceName: String, procedure procedureName: String) {
        self.serviceName = serviceName
        self.procedureName = procedureName
    }
}

/// A subscription procedure: `Init` in; a sequence of `Result<Output, Failure>` out.
public struct SubscriptionProcedure<Init: RiverRequestPayload, Output: RiverResponsePayload, Failure: RiverServiceFailure>: Sendable, Hashable {
    /// The service name on the wire.
    public var serviceName: String
    /// The procedure name on the wire.
    public var procedureName: String
    /// Creates a descriptor.
    public init(service serviceName: String, procedure procedureName: String) {
        self.serviceName = serviceName
        self.procedureName = procedureName
    }
}

/// A stream procedure: `Init` and `Input` requests in; a sequence of `Result<Output, Failure>` out.
public struct StreamProcedure<Init: RiverRequestPayload, Input: RiverRequestPayload, Output: RiverResponsePayload, Failure: RiverServiceFailure>: Sendable, Hashable {
    /// The service name on the wire.
    public var serviceName: String
    /// The procedure name on the wire.
    public var procedureName: String
    /// Creates a descriptor.
    public init(service serviceName: String, procedure procedureName: String) {
        self.serviceName = serviceName
        self.procedureName = procedureName
    }
}

/// A service error of any code: the `Failure` type for schema-less calls and for procedures
/// that declare no errors of their own.
public struct RiverServiceError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The error code.
    public var code: String
    /// The human-readable message.
    public var message: String
    /// Extra structured detail, when the server sent some.
    public var extras: RiverValue?

    /// Creates a service error.
    public init(code: String, message: String, extras: RiverValue? = nil) {
        self.code = code
        self.message = message
        self.extras = extras
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

/// Options for one call.
public struct CallOptions: Sendable {
    /// The call fails with ``RiverError/Code/deadlineExceeded`` (and the stream is cancelled)
    /// when it has not completed within this time. `nil`: no deadline.
    public var timeout: Duration?
    /// Which server to call, by id, when the client talks to several
    /// (``RiverClient/Configuration/additionalServers``). `nil`: the client's main server.
    public var server: String?
    /// W3C trace context to send with the call's open message instead of the one the installed
    /// tracer injects for the call's span: for callers that hold a `traceparent` but run no
    /// tracer (the `river` CLI's `--traceparent`). `nil`: the call's span's context, or empty
    /// strings without a tracer, as the reference client sends.
    public var tracing: TracingContext?
    /// Interceptors for this call only, run after the client's
    /// (``RiverClient/Configuration/interceptors``).
    public var interceptors: [any RiverClientInterceptor]

    /// Creates options.
    public init(
        timeout: Duration? = nil, server: String? = nil, tracing: TracingContext? = nil,
        interceptors: [any RiverClientInterceptor] = []
    ) {
        self.timeout = timeout
        self.server = server
        self.tracing = tracing
        self.interceptors = interceptors
    }

    /// No deadline, the main server, no trace override, no interceptors.
    public static let defaults = CallOptions()
}

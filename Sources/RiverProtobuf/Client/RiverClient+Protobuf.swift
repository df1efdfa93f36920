public import River
import SwiftProtobuf

/// Calls to protobuf services (`@replit/river/protobuf` servers), typed by swift-protobuf
/// messages. The client must use ``ProtoCodec``.
///
/// They share everything with the TypeBox calls: connect on first call, back-pressure,
/// transparent reconnects, deadlines (``CallOptions/timeout``) and cancellation (cancelling the
/// calling task sends CANCEL). Every failure is thrown as ``ProtobufRPCError``. Generated
/// clients (`protoc-gen-river-swift`) wrap these:
///
/// ```swift
/// let reply = try await client.unary(River_Test_TestService.Method.echo, .with { $0.text = "hi" })
/// ```
extension RiverClient {
    /// Calls a unary method.
    /// - Parameters:
    ///   - method: The method.
    ///   - request: The request message.
    ///   - options: Deadline, server and trace context.
    /// - Returns: The response message.
    /// - Throws: ``ProtobufRPCError``: the error the handler returned, a protocol error, or a
    ///   local failure.
    public func unary<Input, Output>(
        _ method: ProtobufUnaryMethod<Input, Output>, _ request: Input, options: CallOptions = .defaults
    ) async throws -> Output {
        try await ProtobufPayload.translatingErrors {
            try await RawCall.run(
                on: self, service: method.serviceName, procedure: method.methodName, kind: .rpc,
                initPayload: try ProtobufPayload.encode(request, what: "request"), options: options
            ) { call in
                try await Self.singleResponse(of: call, Output.self)
            }
        }
    }

    /// Calls a server-streaming method; `body` reads the responses. Returning from `body`
    /// before the server closed cancels the call.
    /// - Parameters:
    ///   - method: The method.
    ///   - request: The request message.
    ///   - options: Deadline, server and trace context.
    ///   - body: Reads the responses.
    /// - Returns: What `body` returns.
    /// - Throws: ``ProtobufRPCError`` from opening the call, or whatever `body` throws.
    public func serverStreaming<Input, Output, Value: Sendable>(
        _ method: ProtobufServerStreamingMethod<Input, Output>, _ request: Input, options: CallOptions = .defaults,
        body: (ProtobufResponseStream<Output>) async throws -> Value
    ) async throws -> Value {
        try await ProtobufPayload.translatingErrors {
            try await RawCall.run(
                on: self, service: method.serviceName, procedure: method.methodName, kind: .subscription,
                initPayload: try ProtobufPayload.encode(request, what: "request"), options: options
            ) { call in
                try await body(ProtobufResponseStream(call: call))
            }
        }
    }

    /// Calls a client-streaming method: `requests` writes the request messages; when it
    /// returns the request side is closed and the one response awaited.
    /// - Parameters:
    ///   - method: The method.
    ///   - options: Deadline, server and trace context.
    ///   - requests: Writes the requests; an error it throws cancels the call and is rethrown.
    /// - Returns: The response message.
    /// - Throws: ``ProtobufRPCError``, or what `requests` throws.
    public func clientStreaming<Input, Output>(
        _ method: ProtobufClientStreamingMethod<Input, Output>, options: CallOptions = .defaults,
        requests: (ProtobufRequestWriter<Input>) async throws -> Void
    ) async throws -> Output {
        try await ProtobufPayload.translatingErrors {
            try await RawCall.run(
                on: self, service: method.serviceName, procedure: method.methodName, kind: .upload, initPayload: .bytes([]), options: options
            ) { call in
                let writer = ProtobufRequestWriter<Input>(call: call)
                do {
                    try await requests(writer)
                    try await writer.finish()
                } catch let error as ProtobufRPCError where call.hasEnded {
                    // The server ended the call early (a response or a cancel): report what it sent.
                    var reader = call.makeReader(interruptible: false)
                    guard let event = try await reader.next() else { throw error }
                    return try ProtobufPayload.interpret(event, as: Output.self).get()
                }
                return try await Self.singleResponse(of: call, Output.self)
            }
        }
    }

    /// Calls a bidi-streaming method; `body` writes requests and reads responses. Finishing
    /// the writer half-closes; returning from `body` before the server closed cancels the call.
    /// - Parameters:
    ///   - method: The method.
    ///   - options: Deadline, server and trace context.
    ///   - body: Writes the requests and reads the responses.
    /// - Returns: What `body` returns.
    /// - Throws: ``ProtobufRPCError`` from opening the call, or whatever `body` throws.
    public func bidiStreaming<Input, Output, Value: Sendable>(
        _ method: ProtobufBidiStreamingMethod<Input, Output>, options: CallOptions = .defaults,
        body: (ProtobufRequestWriter<Input>, ProtobufResponseStream<Output>) async throws -> Value
    ) async throws -> Value {
        try await ProtobufPayload.translatingErrors {
            try await RawCall.run(
                on: self, service: method.serviceName, procedure: method.methodName, kind: .stream, initPayload: .bytes([]), options: options
            ) { call in
                try await body(ProtobufRequestWriter(call: call), ProtobufResponseStream(call: call))
            }
        }
    }

    // MARK: Shared

    /// The one response of a unary or client-streaming call (an error result is thrown).
    private static func singleResponse<Output: SwiftProtobuf.Message>(of call: RawCall, _: Output.Type) async throws -> Output {
        var reader = call.makeReader(interruptible: false)
        guard let event = try await reader.next() else {
            throw ProtobufRPCError(
                code: ProtobufRPCError.Code(rawValue: RiverError.Code.protocolViolation.rawValue),
                message: "the server closed the call without a response")
        }
        return try ProtobufPayload.interpret(event, as: Output.self).get()
    }
}

import River
import RiverProtobuf
import RiverProtobufTestService
import SwiftProtobuf

/// Protobuf mode: `river.test.TestService` (Protos/river/test/test_service.proto) served the
/// way River's protobuf router and the handlers of its protobuf tests do it, as the recorded
/// traces show (Tests/Fixtures/wire-traces/protobuf): requests and responses are bare message
/// bytes, errors `{ok: false, payload: {code, message}}` results, unknown methods an
/// `UNIMPLEMENTED` cancel.
extension ServiceCatalog {
    /// The service's full protobuf name.
    static let protobufServiceName = River_Test_TestService.serviceName

    /// `river.test.TestService`'s four methods as River procedures (payloads: bytes).
    static let protobuf: [ProcedureDescriptor] = {
        let service = protobufServiceName
        func method(_ name: String, _ kind: ProcedureKind) -> ProcedureDescriptor {
            let streamsRequests = kind == .upload || kind == .stream
            return ProcedureDescriptor(
                service: service, name: name, kind: kind, initSchema: .bytes, input: streamsRequests ? .bytes : nil,
                output: .bytes, declaredErrors: [])
        }
        return [method("Echo", .rpc), method("CountUp", .subscription), method("Sum", .upload), method("Chat", .stream)]
    }()

    /// The procedures a mode serves.
    static func procedures(for mode: RiverTestServer.Mode) -> [ProcedureDescriptor] {
        switch mode {
        case .standard: standard
        case .handshake: handshake
        case .protobuf, .protobufHandshake: protobuf
        }
    }
}

/// Why protobuf handshake metadata was refused.
struct ProtobufHandshakeRejection: Error {
    let code: HandshakeErrorCode
    let reason: String
}

extension RiverTestServer {
    /// The only `AuthHandshake.token` the protobuf handshake mode accepts.
    public static let protobufValidToken = "let-me-in"
}

extension ServerCore {
    // MARK: Handshake

    /// Checks `AuthHandshake` metadata (protobuf bytes); the parsed metadata is `{token}`.
    func validateProtobufMetadata(_ metadata: RiverValue?) -> Result<RiverValue, ProtobufHandshakeRejection> {
        guard case .bytes(let bytes)? = metadata else {
            return .failure(.init(code: .malformedHandshakeMeta, reason: "received malformed handshake metadata"))
        }
        guard let auth = try? River_Test_AuthHandshake(serializedBytes: bytes),
            auth.token == RiverTestServer.protobufValidToken
        else {
            return .failure(.init(code: .rejectedByCustomHandler, reason: "rejected by handshake handler"))
        }
        return .success(["token": .string(auth.token)])
    }

    // MARK: Routing

    /// Why a protobuf stream-open message is refused, if it is: an unknown method
    /// (`UNIMPLEMENTED`), a payload that is not protobuf bytes, or a unary/server-streaming
    /// call that leaves its request side open (`INVALID_REQUEST`).
    func protobufRefusal(_ message: TransportMessage, service: String, procedure: String) -> ErrorPayload? {
        guard let descriptor = procedures[service]?[procedure] else {
            return ErrorPayload(code: ProtobufRPCError.Code.unimplemented.rawValue, message: "\(service).\(procedure) is not implemented")
        }
        guard case .bytes = message.payload else {
            return ErrorPayload(code: ReservedErrorCode.invalidRequest, message: "expected protobuf request payload in opening frame")
        }
        if descriptor.kind == .rpc || descriptor.kind == .subscription, !message.controlFlags.contains(.streamClosed) {
            return ErrorPayload(
                code: ReservedErrorCode.invalidRequest,
                message: "protobuf unary and server-streaming calls must close the request stream in the opening frame")
        }
        return nil
    }

    // MARK: Handlers

    func protobufHandlerStarted(_ stream: StreamRecord, initPayload: RiverValue) {
        guard case .bytes(let bytes) = initPayload else { return }
        switch stream.procedure.name {
        case "Echo":
            guard let request = decode(River_Test_EchoRequest.self, bytes, on: stream) else { return }
            echo(request, on: stream)
        case "CountUp":
            guard let request = decode(River_Test_CountRequest.self, bytes, on: stream) else { return }
            // Capped, so that a hostile limit cannot wedge the server.
            for value in 0..<min(request.limit, 100_000) {
                respond(stream, River_Test_CountResponse.with { $0.value = value + 1 })
            }
            closeWritable(stream)
        case "Chat" where !bytes.isEmpty:
            // A non-empty opening payload is the first message (the official client sends none).
            protobufHandlerReceived(stream, initPayload)
        default:
            break  // Sum and Chat wait for requests
        }
    }

    func protobufHandlerReceived(_ stream: StreamRecord, _ value: RiverValue) {
        guard case .bytes(let bytes) = value else { return }
        switch stream.procedure.name {
        case "Sum":
            guard let chunk = decode(River_Test_SumChunk.self, bytes, on: stream) else { return }
            stream.total += Double(chunk.value)
        case "Chat":
            guard let message = decode(River_Test_ChatMessage.self, bytes, on: stream) else { return }
            if message.text == "boom" {
                write(stream, payload: rpcError(.invalidArgument, "boom is not allowed"))
                closeWritable(stream)
                return
            }
            respond(stream, River_Test_ChatMessage.with { $0.text = message.text.uppercased() })
        default:
            break
        }
    }

    func protobufHandlerReadableEnded(_ stream: StreamRecord) {
        switch stream.procedure.name {
        case "Sum":
            respond(stream, River_Test_SumResponse.with { $0.total = UInt32(truncatingIfNeeded: Int64(stream.total)) })
        case "Chat":
            closeWritable(stream)
        default:
            break
        }
    }

    private func echo(_ request: River_Test_EchoRequest, on stream: StreamRecord) {
        switch request.text {
        case "boom":
            write(stream, payload: rpcError(.invalidArgument, "bad input from \(stream.clientID)"))
        case "cancel":
            serverCancel(stream, ErrorPayload(code: ReservedErrorCode.cancel, message: "cancelled by handler"))
        case "details":
            // Not among the reference handlers: an error with metadata and a typed detail, so
            // that clients can test both end to end.
            var error = ProtobufRPCError(code: .failedPrecondition, message: "see the details", metadata: ["field": "text"])
            if let detail = try? ProtobufRPCError.Detail(River_Test_EchoResponse.with { $0.text = "why" }) { error.details = [detail] }
            write(stream, payload: error.errorResult)
        case "throw":
            write(stream, payload: ResultEnvelope.error(ErrorPayload(code: ReservedErrorCode.uncaughtError, message: "echo handler threw")).value)
        default:
            let text: String
            if protobufHandshakeMode, let token = sessions[stream.clientID]?.metadata?["token"]?.stringValue {
                text = "\(token):\(request.text)"
            } else {
                text = request.text.uppercased()
            }
            respond(stream, River_Test_EchoResponse.with { $0.text = text })
        }
    }

    /// Writes `message`'s bytes as the next response.
    private func respond(_ stream: StreamRecord, _ message: some SwiftProtobuf.Message) {
        guard let bytes: [UInt8] = try? message.serializedBytes() else { return }
        write(stream, payload: .bytes(bytes))
    }

    private func rpcError(_ code: ProtobufRPCError.Code, _ message: String) -> RiverValue {
        ProtobufRPCError(code: code, message: message).errorResult
    }

    /// The request decoded, or `nil` after cancelling the stream with INVALID_REQUEST.
    private func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ bytes: [UInt8], on stream: StreamRecord) -> M? {
        if let message = try? M(serializedBytes: bytes) { return message }
        serverCancel(
            stream, ErrorPayload(code: ReservedErrorCode.invalidRequest, message: "failed to decode protobuf request payload as \(M.protoMessageName)"))
        return nil
    }
}

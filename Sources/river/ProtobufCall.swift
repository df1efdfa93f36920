import Foundation
import River
import RiverProtobuf
import SwiftProtobuf

/// `--protoset`: calls to protobuf services, typed by a descriptor set (`protoc
/// --descriptor_set_out --include_imports`) instead of generated code. Requests and responses
/// are protobuf's canonical JSON, as grpcurl prints them; handshake metadata is a protobuf
/// message too (`--metadata JSON --metadata-type NAME`). Output and exit statuses are those of
/// the TypeBox calls: errors the handler returned are service errors, cancels protocol errors.
struct ProtobufCall: Sendable {
    /// The service's full name.
    let service: String
    /// The method's name.
    let method: String
    /// The River procedure kind the method travels as.
    let kind: ProcedureKind
    /// The opening payload (the request of unary and server-streaming calls, else empty).
    let initPayload: RiverValue
    /// The handshake metadata message's bytes.
    let metadata: RiverValue?
    private let inputType: String
    private let outputType: String
    private let encoder: DynamicProtobufEncoder
    private let decoder: DynamicProtobufDecoder

    /// Runs a call of the subcommand `kind` with `--protoset`.
    static func run(_ kind: ProcedureKind, target: CallTarget, options: ConnectionOptions, protoset: String) async throws {
        let call: ProtobufCall
        do { call = try ProtobufCall(target: target, options: options, protoset: protoset, kind: kind) } catch { throw error.report() }
        try await CallRunner(url: target.url, options: options, metadata: call.metadata).run { client, callOptions in
            try await call.perform(on: client, options: callOptions)
        }
    }

    /// Loads the descriptor set and checks the method, its kind, the request and the metadata.
    /// - Throws: ``CLIError`` (invalid input).
    init(target: CallTarget, options: ConnectionOptions, protoset: String, kind: ProcedureKind) throws(CLIError) {
        let pool = try Self.loadPool(protoset)
        let (serviceName, methodName) = Self.split(target.procedure)
        guard let service = pool.services.first(where: { $0.fullName == serviceName }) else {
            let known = pool.services.map(\.fullName).joined(separator: ", ")
            throw CLIError(.invalidInput, "\(protoset) has no service \(serviceName) (it has: \(known.isEmpty ? "none" : known))")
        }
        guard let method = service.descriptor.method.first(where: { $0.name == methodName }) else {
            throw CLIError(.invalidInput, "\(serviceName) has no method \(methodName)")
        }
        let methodKind = Self.methodKind(of: method)
        guard methodKind.procedureKind == kind else {
            throw CLIError(
                .invalidInput, "\(serviceName)/\(methodName) is a \(Self.describe(methodKind)) method: use river \(methodKind.procedureKind.subcommand)")
        }
        self.service = serviceName
        self.method = methodName
        self.kind = kind
        self.inputType = method.inputType
        self.outputType = method.outputType
        self.encoder = DynamicProtobufEncoder(pool: pool)
        self.decoder = DynamicProtobufDecoder(pool: pool)
        let request = try JSONText.parse(target.initJSON, what: "request")
        if kind == .rpc || kind == .subscription {
            initPayload = .bytes(try Self.encode(request, as: method.inputType, encoder: encoder, what: "request"))
        } else {
            guard request == .object([:]) else {
                throw CLIError(.invalidInput, "\(serviceName)/\(methodName) streams its requests: give them on stdin, one JSON object a line")
            }
            initPayload = .bytes([])
        }
        if let metadata = options.metadata {
            guard let type = options.metadataType else {
                throw CLIError(.invalidInput, "--metadata with --protoset needs --metadata-type (the handshake message's full name)")
            }
            let value = try JSONText.parse(metadata, what: "metadata")
            self.metadata = .bytes(try Self.encode(value, as: type, encoder: encoder, what: "metadata"))
        } else {
            self.metadata = nil
        }
    }

    /// Reads and indexes a descriptor set file.
    static func loadPool(_ path: String) throws(CLIError) -> ProtobufDescriptorPool {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError(.invalidInput, "cannot read the descriptor set \(path)")
        }
        do {
            return try ProtobufDescriptorPool(descriptorSet: [UInt8](data))
        } catch {
            throw CLIError(.invalidInput, "\(path): \(error.message)")
        }
    }

    /// `pkg.Service/Method` (grpcurl's spelling) or `pkg.Service.Method`.
    static func split(_ procedure: String) -> (service: String, method: String) {
        let separator = procedure.lastIndex(of: "/") ?? procedure.lastIndex(of: ".") ?? procedure.endIndex
        let method = separator < procedure.endIndex ? String(procedure[procedure.index(after: separator)...]) : ""
        return (String(procedure[..<separator]), method)
    }

    static func methodKind(of method: Google_Protobuf_MethodDescriptorProto) -> ProtobufMethodKind {
        switch (method.clientStreaming, method.serverStreaming) {
        case (false, false): .unary
        case (false, true): .serverStreaming
        case (true, false): .clientStreaming
        case (true, true): .bidiStreaming
        }
    }

    static func describe(_ kind: ProtobufMethodKind) -> String {
        switch kind {
        case .unary: "unary"
        case .serverStreaming: "server-streaming"
        case .clientStreaming: "client-streaming"
        case .bidiStreaming: "bidi-streaming"
        }
    }

    private static func encode(_ value: RiverValue, as type: String, encoder: DynamicProtobufEncoder, what: String) throws(CLIError) -> [UInt8] {
        do {
            return try encoder.encode(value, as: type)
        } catch {
            throw CLIError(.invalidInput, "\(what): \(error.message)")
        }
    }

    // MARK: Calling

    private func perform(on client: RiverClient, options: CallOptions) async throws -> CallOutcome {
        try await RawCall.run(
            on: client, service: service, procedure: method, kind: kind, initPayload: initPayload, options: options
        ) { call in
            switch kind {
            case .rpc, .subscription:
                return try await printResponses(call.makeReader(interruptible: false))
            case .upload:
                for await line in StandardInputLines() { try await write(line, on: call) }
                try call.finish()
                return try await printResponses(call.makeReader(interruptible: false))
            case .stream:
                return try await withThrowingTaskGroup(of: CallOutcome?.self) { group in
                    group.addTask {
                        for await line in StandardInputLines() { try await write(line, on: call) }
                        try call.finish()
                        return nil
                    }
                    group.addTask { try await printResponses(call.makeReader(interruptible: true)) }
                    var outcome = CallOutcome()
                    while let finished = try await group.next() {
                        guard let responses = finished else { continue }
                        outcome = responses  // the server closed: stop reading stdin
                        group.cancelAll()
                    }
                    return outcome
                }
            }
        }
    }

    private func write(_ line: StandardInputLines.Element, on call: RawCall) async throws {
        let what = "request (stdin line \(line.number))"
        let value = try JSONText.parse(line.text, what: what)
        try await call.write(.bytes(try Self.encode(value, as: inputType, encoder: encoder, what: what)))
    }

    /// Prints every response until the server closes; a cancel is thrown as the protocol error
    /// it is.
    private func printResponses(_ reader: RawCall.Reader) async throws -> CallOutcome {
        var reader = reader
        var outcome = CallOutcome()
        while let event = try await reader.next() {
            let result: Result<[UInt8], ProtobufRPCError>
            do {
                result = try ProtobufPayload.interpretBytes(event)
            } catch {
                throw RiverError(code: RiverError.Code(rawValue: error.code.rawValue), message: error.message)
            }
            switch result {
            case .success(let bytes):
                do {
                    Console.output(JSONText.render(try decoder.decode(bytes, as: outputType)))
                } catch {
                    throw RiverError(code: .decodingFailure, message: "the response is not a valid \(outputType.dropFirst()): \(error.message)")
                }
            case .failure(let error):
                outcome.serviceErrors += 1
                Console.output(JSONText.render(render(error)))
                Console.error("river: service error \(error.code): \(error.message)")
            }
        }
        return outcome
    }

    /// `{code, message, metadata?, details?}`; a detail whose type the set declares is shown
    /// decoded beside its base64 bytes.
    private func render(_ error: ProtobufRPCError) -> RiverValue {
        var fields: [String: RiverValue] = ["code": .string(error.code.rawValue), "message": .string(error.message)]
        if !error.metadata.isEmpty { fields["metadata"] = .object(error.metadata.mapValues { .string($0) }) }
        if !error.details.isEmpty {
            fields["details"] = .array(
                error.details.map { detail in
                    var entry: [String: RiverValue] = [
                        "typeName": .string(detail.typeName), "value": .string(Data(detail.value).base64EncodedString()),
                    ]
                    if let decoded = try? decoder.decode(detail.value, as: detail.typeName) { entry["decoded"] = decoded }
                    return .object(entry)
                })
        }
        return .object(fields)
    }
}

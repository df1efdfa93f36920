package import River
import SwiftProtobuf

/// How protobuf services' payloads look on the wire: requests and successful results are bare
/// message bytes (``RiverValue/bytes(_:)``, `payload_bytes`); errors are `{ok: false, payload:
/// {code, message, metadata?, details?}}` (msgpack).
package enum ProtobufPayload {
    /// The wire payload of `message`.
    static func encode(_ message: some SwiftProtobuf.Message, what: String) throws(ProtobufRPCError) -> RiverValue {
        do {
            return .bytes(try message.serializedBytes())
        } catch {
            throw ProtobufRPCError(
                code: ProtobufRPCError.Code(rawValue: RiverError.Code.encodingFailure.rawValue),
                message: "could not serialize the \(what) message \(type(of: message).protoMessageName): \(error)",
                underlying: error)
        }
    }

    /// What one event of a call means: a response, an error result the call may go on after,
    /// or (thrown) an error that ends the call.
    static func interpret<Output: SwiftProtobuf.Message>(
        _ event: RawCall.Event, as _: Output.Type
    ) throws(ProtobufRPCError) -> Result<Output, ProtobufRPCError> {
        switch try interpretBytes(event) {
        case .success(let bytes):
            do {
                return .success(try Output(serializedBytes: bytes))
            } catch {
                throw ProtobufRPCError(
                    code: ProtobufRPCError.Code(rawValue: RiverError.Code.decodingFailure.rawValue),
                    message: "the response is not a valid \(Output.protoMessageName): \(error)", underlying: error)
            }
        case .failure(let error):
            return .failure(error)
        }
    }

    /// ``interpret(_:as:)`` without a message type: the response's bytes (for dynamic callers
    /// such as the CLI, which decode with a descriptor set).
    package static func interpretBytes(_ event: RawCall.Event) throws(ProtobufRPCError) -> Result<[UInt8], ProtobufRPCError> {
        switch event {
        case .payload(.bytes(let bytes)):
            return .success(bytes)
        case .payload(let value):
            guard let error = ProtobufRPCError(errorResult: value) else {
                throw ProtobufRPCError(
                    code: ProtobufRPCError.Code(rawValue: RiverError.Code.protocolViolation.rawValue),
                    message: "received a response that is neither protobuf bytes nor an error result (\(value.kindName))")
            }
            return .failure(error)
        case .cancelled(let value):
            throw ProtobufRPCError(errorResult: value)
                ?? ProtobufRPCError(code: .cancel, message: "stream cancelled with invalid payload")
        }
    }

    /// Runs `body`, turning the ``RiverError``s of the call machinery into ``ProtobufRPCError``s
    /// (what `body`'s own closures throw passes through).
    static func translatingErrors<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as RiverError {
            throw ProtobufRPCError(error)
        }
    }
}

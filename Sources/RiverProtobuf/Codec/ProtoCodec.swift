public import River
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftProtobuf

/// River's protobuf codec (`ProtoCodec` of `@replit/river/protobuf`): every transport message
/// travels as one protobuf `TransportEnvelope` (`proto/transport.proto`).
///
/// A payload that is already protobuf bytes (``RiverValue/bytes(_:)``: request and response
/// messages of protobuf services) goes in `payload_bytes` as is; anything else (handshake,
/// control messages, error results) is msgpack-encoded into `payload_msgpack` with River's
/// msgpack conventions. Empty service and procedure names stand for absent ones, and proto3
/// leaves zero fields out, exactly as the reference writes them.
///
/// Servers of protobuf services speak only this codec; configure the client with it:
/// `RiverClient.Configuration(codec: ProtoCodec())`.
public struct ProtoCodec: RiverCodec {
    private let msgpack = MessagePackCodec()

    /// Creates the codec.
    public init() {}

    /// `proto`.
    public var name: String { "proto" }

    /// Encodes `message` as one `TransportEnvelope`.
    /// - Parameter message: The message.
    /// - Returns: The envelope's bytes.
    /// - Throws: ``RiverCodecError`` when seq, ack or the control flags do not fit in the
    ///   envelope's `uint32` fields, or a msgpack payload cannot be encoded.
    public func encode(_ message: TransportMessage) throws(RiverCodecError) -> [UInt8] {
        var envelope = Replit_River_Internal_V1_TransportEnvelope()
        envelope.id = message.id
        envelope.from = message.from
        envelope.to = message.to
        envelope.seq = try Self.uint32(message.seq, field: "seq")
        envelope.ack = try Self.uint32(message.ack, field: "ack")
        envelope.streamID = message.streamId
        envelope.controlFlags = try Self.uint32(message.controlFlags.rawValue, field: "controlFlags")
        envelope.serviceName = message.serviceName ?? ""
        envelope.procedureName = message.procedureName ?? ""
        if let tracing = message.tracing {
            envelope.tracing.traceparent = tracing.traceparent
            envelope.tracing.tracestate = tracing.tracestate
        }
        if case .bytes(let bytes) = message.payload {
            envelope.payloadKind = .payloadBytes(Data(bytes))
        } else {
            envelope.payloadKind = .payloadMsgpack(Data(try msgpack.encodeValue(message.payload)))
        }
        do {
            return try envelope.serializedBytes()
        } catch {
            throw RiverCodecError("proto: could not serialize the envelope: \(error)")
        }
    }

    /// Decodes one `TransportEnvelope`.
    /// - Parameter bytes: The frame.
    /// - Returns: The message; `payload_bytes` becomes ``RiverValue/bytes(_:)``, a
    ///   `payload_msgpack` body its decoded value.
    /// - Throws: ``RiverCodecError`` for malformed protobuf, an envelope without a payload,
    ///   or a malformed msgpack payload.
    public func decode(_ bytes: [UInt8]) throws(RiverCodecError) -> TransportMessage {
        let envelope: Replit_River_Internal_V1_TransportEnvelope
        do {
            envelope = try Replit_River_Internal_V1_TransportEnvelope(serializedBytes: bytes)
        } catch {
            throw RiverCodecError("proto: malformed TransportEnvelope: \(error)")
        }
        let payload: RiverValue
        switch envelope.payloadKind {
        case .payloadBytes(let data)?:
            payload = .bytes([UInt8](data))
        case .payloadMsgpack(let data)?:
            do {
                payload = try msgpack.decodeValue([UInt8](data))
            } catch {
                throw RiverCodecError("proto: payload_msgpack: \(error.message)")
            }
        case nil:
            throw RiverCodecError("proto: invalid TransportEnvelope: missing payload")
        }
        return TransportMessage(
            id: envelope.id, from: envelope.from, to: envelope.to, seq: Int(envelope.seq), ack: Int(envelope.ack),
            streamId: envelope.streamID, controlFlags: ControlFlags(rawValue: Int(envelope.controlFlags)), payload: payload,
            serviceName: envelope.serviceName.isEmpty ? nil : envelope.serviceName,
            procedureName: envelope.procedureName.isEmpty ? nil : envelope.procedureName,
            tracing: envelope.hasTracing
                ? TracingContext(traceparent: envelope.tracing.traceparent, tracestate: envelope.tracing.tracestate) : nil)
    }

    private static func uint32(_ value: Int, field: String) throws(RiverCodecError) -> UInt32 {
        guard let narrow = UInt32(exactly: value) else {
            throw RiverCodecError("proto: \(field) \(value) does not fit the envelope's uint32")
        }
        return narrow
    }
}

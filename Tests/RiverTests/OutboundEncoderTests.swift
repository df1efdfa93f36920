import Testing
@testable import River

/// Messages encoded in two parts outside the transport's lock, with seq and ack added later,
/// are byte for byte what the codec encodes in one go.
@Suite("Outbound encoder")
struct OutboundEncoderTests {
    typealias Outbound = SessionStateMachine.Outbound

    static let tracing = TracingContext(traceparent: "00-abc-def-01", tracestate: "k=v")
    static let outbounds: [Outbound] = [
        // Stream open (open order: seq and ack last).
        Outbound(
            streamId: "s1", controlFlags: [.streamOpen, .streamClosed], payload: ["n": 1],
            serviceName: "test", procedureName: "add", tracing: tracing),
        // Data, close and cancel (data order).
        Outbound(streamId: "s1", controlFlags: [], payload: ["msg": "hi", "list": [1, 2.5, nil, true]]),
        Outbound(streamId: "s1", controlFlags: .streamClosed, payload: ["type": "CLOSE"]),
        Outbound(streamId: "s1", controlFlags: .streamCancel, payload: ["ok": false, "payload": ["code": "CANCEL", "message": "x"]]),
        Outbound(streamId: "heartbeat", controlFlags: .ack, payload: ["type": "ACK"]),
        // Optional fields after the ack (data order with a procedure name and tracing).
        Outbound(streamId: "s2", controlFlags: [], payload: .bytes([1, 2, 3]), procedureName: "p", tracing: tracing),
        // Handshake order: seq and ack in the middle.
        Outbound(streamId: "hs", controlFlags: [], payload: ["type": "HANDSHAKE_REQ", "protocolVersion": "v2.0"], tracing: tracing),
    ]
    /// The frame as the session's send buffer holds it.
    static func encoded(
        _ encoder: SessionStateMachine.OutboundEncoder, _ prepared: SessionStateMachine.PreparedMessage, seq: Int, ack: Int
    ) throws -> [UInt8] {
        var buffer = SendBuffer()
        return try encoder.append(prepared, seq: seq, ack: ack, to: &buffer, limit: .max).bytes
    }

    static let numbers = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 4_294_967_295, 4_294_967_296, Int.max]

    @Test("split encoding plus seq and ack equals the whole encoding", arguments: [JSONCodec() as any RiverCodec, MessagePackCodec()])
    func matchesWholeEncoding(codec: any RiverCodec) throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: codec, clientID: "client", serverID: "SERVER")
        for outbound in Self.outbounds {
            for (seq, ack) in zip(Self.numbers, Self.numbers.reversed()) {
                let bytes = try Self.encoded(encoder, encoder.prepare(outbound), seq: seq, ack: ack)
                let decoded = try codec.decode(bytes)
                let expected = TransportMessage(
                    id: decoded.id, from: "client", to: "SERVER", seq: seq, ack: ack, streamId: outbound.streamId,
                    controlFlags: outbound.controlFlags, payload: outbound.payload, serviceName: outbound.serviceName,
                    procedureName: outbound.procedureName, tracing: outbound.tracing)
                #expect(bytes == (try codec.encode(expected)), "\(codec.name) \(outbound.streamId) seq \(seq) ack \(ack)")
                #expect(decoded.id.count == 12)
            }
        }
    }

    @Test("negative seq and ack (never assigned, still encoded exactly) match the whole encoding", arguments: [JSONCodec() as any RiverCodec, MessagePackCodec()])
    func negativeNumbers(codec: any RiverCodec) throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: codec, clientID: "client", serverID: "SERVER")
        let outbound = Self.outbounds[1]
        let prepared = try encoder.prepare(outbound)
        // The message id, from a copy sent with numbers the decoder accepts.
        let id = try codec.decode(Self.encoded(encoder, prepared, seq: 0, ack: 0)).id
        for number in [-1, -32, -33, -128, -129, -32_768, -32_769, -2_147_483_648, -2_147_483_649, Int.min] {
            let bytes = try Self.encoded(encoder, prepared, seq: number, ack: number)
            let expected = TransportMessage(
                id: id, from: "client", to: "SERVER", seq: number, ack: number, streamId: outbound.streamId,
                controlFlags: outbound.controlFlags, payload: outbound.payload)
            #expect(bytes == (try codec.encode(expected)), "\(codec.name) \(number)")
        }
    }

    /// A codec the encoder cannot split (it is not one of River's own).
    struct WrappedCodec: RiverCodec {
        let inner = JSONCodec()
        var name: String { "wrapped" }
        func encode(_ message: TransportMessage) throws(RiverCodecError) -> [UInt8] { try inner.encode(message) }
        func decode(_ bytes: [UInt8]) throws(RiverCodecError) -> TransportMessage { try inner.decode(bytes) }
    }

    @Test("a codec that cannot encode in parts is encoded whole at send time")
    func customCodec() throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: WrappedCodec(), clientID: "client", serverID: "SERVER")
        for outbound in Self.outbounds {
            let bytes = try Self.encoded(encoder, encoder.prepare(outbound), seq: 300, ack: 7)
            let decoded = try JSONCodec().decode(bytes)
            #expect(decoded.seq == 300 && decoded.ack == 7 && decoded.payload == outbound.payload)
            #expect(bytes == (try JSONCodec().encode(decoded)))
        }
    }

    @Test("a payload the codec cannot encode fails in prepare, as an encoding error")
    func encodingFailure() {
        let encoder = SessionStateMachine.OutboundEncoder(codec: JSONCodec(), clientID: "client", serverID: "SERVER")
        #expect(throws: SessionStateMachine.SendError.self) {
            _ = try encoder.prepare(Outbound(streamId: "s", controlFlags: [], payload: .double(.nan)))
        }
    }
}

import River
import RiverProtobuf
import Testing

/// ProtoCodec on hand-built envelopes: what each field looks like, both directions, and the
/// errors bad input gets.
@Suite struct ProtoCodecEnvelopeTests {
    let codec = ProtoCodec()

    /// `len(field, bytes)`: a length-delimited field.
    func ld(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] { [number << 3 | 2, UInt8(bytes.count)] + bytes }
    func ld(_ number: UInt8, _ text: String) -> [UInt8] { ld(number, Array(text.utf8)) }

    @Test func aDataFrameIsTheProto3EncodingWithZeroFieldsLeftOut() throws {
        let message = TransportMessage(
            id: "m1", from: "c", to: "SERVER", seq: 0, ack: 3, streamId: "s1", controlFlags: [], payload: .bytes([0x08, 0x01]))
        let expected = ld(1, "m1") + ld(2, "c") + ld(3, "SERVER") + [0x28, 3] + ld(6, "s1") + ld(11, [0x08, 0x01])
        #expect(try codec.encode(message) == expected)
        #expect(try codec.decode(expected) == message)
    }

    @Test func anOpenFrameCarriesNamesTracingAndAnEmptyPayload() throws {
        let message = TransportMessage(
            id: "m2", from: "c", to: "SERVER", seq: 1, ack: 0, streamId: "s2", controlFlags: .streamOpen, payload: .bytes([]),
            serviceName: "river.test.TestService", procedureName: "Chat", tracing: .empty)
        let expected =
            ld(1, "m2") + ld(2, "c") + ld(3, "SERVER") + [0x20, 1] + ld(6, "s2") + [0x38, 2]
            + ld(8, "river.test.TestService") + ld(9, "Chat") + ld(10, []) + ld(11, [])
        #expect(try codec.encode(message) == expected)
        #expect(try codec.decode(expected) == message)
    }

    @Test func otherPayloadsTravelAsMsgpack() throws {
        let close = ControlPayload.close.value
        let message = TransportMessage(
            id: "m3", from: "c", to: "SERVER", seq: 300, ack: 0, streamId: "s3", controlFlags: .streamClosed, payload: close,
            tracing: TracingContext(traceparent: "00-a-b-01", tracestate: "k=v"))
        let body = try MessagePackCodec().encodeValue(close)
        let expected =
            ld(1, "m3") + ld(2, "c") + ld(3, "SERVER") + [0x20, 0xac, 0x02] + ld(6, "s3") + [0x38, 8]
            + ld(10, ld(1, "00-a-b-01") + ld(2, "k=v")) + ld(12, body)
        #expect(try codec.encode(message) == expected)
        #expect(try codec.decode(expected) == message)
    }

    @Test func emptyNamesDecodeAsAbsent() throws {
        let frame = ld(1, "m") + ld(6, "s") + ld(8, "") + ld(9, "") + ld(11, [])
        let message = try codec.decode(frame)
        #expect(message.serviceName == nil)
        #expect(message.procedureName == nil)
        #expect(message.tracing == nil)
    }

    @Test func anEnvelopeWithoutPayloadIsRejected() {
        #expect(throws: RiverCodecError.self) { try codec.decode(ld(1, "m") + ld(6, "s")) }
    }

    @Test(arguments: [[0x0a, 0x05, 0x61], [0xff], [0x62, 0x02, 0xc1, 0xc1]] as [[UInt8]])
    func malformedFramesAreRejected(_ frame: [UInt8]) {
        #expect(throws: RiverCodecError.self) { try codec.decode(frame) }
    }

    @Test func countersBeyondUInt32AreRejected() {
        let message = TransportMessage(
            id: "m", from: "c", to: "s", seq: Int(UInt32.max) + 1, ack: 0, streamId: "s", controlFlags: [], payload: .null)
        #expect(throws: RiverCodecError.self) { try codec.encode(message) }
        var negative = message
        negative.seq = -1
        #expect(throws: RiverCodecError.self) { try codec.encode(negative) }
    }

    @Test func handshakeMetadataBytesRideInsideTheMsgpackPayload() throws {
        let request = ControlPayload.handshakeRequest(
            HandshakeRequest(
                protocolVersion: "v2.0", sessionId: "session-x",
                expectedSessionState: .init(nextExpectedSeq: 0, nextSentSeq: 0), metadata: .bytes([0x0a, 0x01, 0x74])))
        let message = TransportMessage(
            id: "h", from: "c", to: "SERVER", seq: 0, ack: 0, streamId: "hs", controlFlags: [], payload: request.value, tracing: .empty)
        let decoded = try codec.decode(try codec.encode(message))
        #expect(decoded == message)
        guard case .handshakeRequest(let parsed)? = try? ControlPayload.parse(decoded.payload) else {
            Issue.record("not a handshake request")
            return
        }
        #expect(parsed.metadata == .bytes([0x0a, 0x01, 0x74]))
    }
}

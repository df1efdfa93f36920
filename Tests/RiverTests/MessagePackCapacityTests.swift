@testable import River
import Testing

/// A prepared msgpack message has exactly the room its seq, ack and tail need, so completing
/// it under the transport's lock never reallocates or copies it, however large it is.
@Suite("Codec: msgpack split encoding capacity")
struct MessagePackCapacityTests {
    /// Small (written on the stack first), just past the stack buffer, and large.
    static let payloadSizes = [1, 2_000, 1 << 20]

    @Test("seq and ack are appended in place", arguments: payloadSizes)
    func appendsInPlace(size: Int) throws {
        let codec = MessagePackCodec()
        let message = TransportMessage(
            id: "id", from: "client", to: "SERVER", seq: 0, ack: 0, streamId: "s1",
            controlFlags: [], payload: .bytes([UInt8](repeating: 9, count: size)), procedureName: "after-the-ack")
        var (head, tail) = try codec.encodeAroundSeqAck(message)
        #expect(!tail.isEmpty)
        #expect(head.capacity >= head.count + 26 + tail.count)
        let base = head.withUnsafeBufferPointer { $0.baseAddress }
        codec.appendSeqAck(seq: Int.max, ack: Int.max, to: &head)
        head.append(contentsOf: tail)
        #expect(head.withUnsafeBufferPointer { $0.baseAddress } == base)
        var whole = message
        whole.seq = .max
        whole.ack = .max
        #expect(head == (try codec.encode(whole)))
    }
}

extension MessagePackCapacityTests {
    @Test("a prepared message becomes its frame bytes without a copy", arguments: payloadSizes)
    func completesWithoutCopy(size: Int) throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: MessagePackCodec(), clientID: "client", serverID: "SERVER")
        let outbound = SessionStateMachine.Outbound(
            streamId: "s1", controlFlags: [.streamOpen, .streamClosed], payload: .bytes([UInt8](repeating: 9, count: size)),
            serviceName: "test", procedureName: "echoBinary")
        var buffer = SendBuffer()
        let bytes = try encoder.append(encoder.prepare(outbound), seq: 1, ack: 2, to: &buffer, limit: .max).bytes
        if bytes.count >= LargeByteArray.threshold {
            // Reserved to be mapped (``LargeByteArray``); a copy would be about twice the message.
            #expect(bytes.capacity >= LargeByteArray.mappedCapacity, "\(bytes.capacity) for \(bytes.count) bytes")
        } else {
            // A copy on append would have grown the array (Array doubles its capacity); malloc
            // rounds a large block up by a few pages at most.
            #expect(bytes.capacity < bytes.count + bytes.count / 2 + 64, "\(bytes.capacity) for \(bytes.count) bytes")
        }
    }
}

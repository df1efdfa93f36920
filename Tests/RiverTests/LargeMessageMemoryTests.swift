import Dispatch
import Foundation
import Synchronization
import Testing
@testable import River

/// A large message's memory on the client: the acknowledged request leaves the send buffer
/// before the answer's payload is decoded, a large payload is never held twice where once is
/// enough, and big transient arrays are reserved so that their memory goes back to the system
/// (``LargeByteArray``).
@Suite("Large message memory", .timeLimit(.minutes(1)))
struct LargeMessageMemoryTests {
    static func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
    }

    // MARK: Reading the acknowledgement ahead

    @Test("peekSeqAck reads seq and ack wherever they are, also after a large payload")
    func peekSeqAck() throws {
        let codec = MessagePackCodec()
        let big: RiverValue = ["ok": true, "payload": ["data": .bytes(Self.bytes(1 << 20))]]
        let messages = [
            // Data order: the payload comes before seq and ack.
            TransportMessage(id: "i", from: "SERVER", to: "c", seq: 7, ack: 300, streamId: "s", controlFlags: [], payload: big),
            // Open order, large numbers.
            TransportMessage(
                id: "i", from: "c", to: "SERVER", seq: 70_000, ack: 1 << 40, streamId: "s", controlFlags: .streamOpen,
                payload: big, serviceName: "test", procedureName: "echoBinary", tracing: .empty),
            // Handshake order.
            TransportMessage(
                id: "i", from: "c", to: "SERVER", seq: 0, ack: 0, streamId: "s", controlFlags: [],
                payload: ["type": "HANDSHAKE_REQ", "nested": [1, ["a": [true, nil]], 2.5]]),
        ]
        for message in messages {
            let peeked = try #require(codec.peekSeqAck(try codec.encode(message)))
            #expect(peeked.seq == message.seq && peeked.ack == message.ack)
        }
    }

    @Test("peekSeqAck gives up on anything that is not a well-formed envelope with both numbers")
    func peekSeqAckRefuses() throws {
        let codec = MessagePackCodec()
        let noAck: RiverValue = ["seq": 1, "payload": .bytes([1, 2, 3])]
        let negative: RiverValue = ["seq": 1, "ack": -1]
        let text: RiverValue = ["seq": 1, "ack": "2"]
        for value in [noAck, negative, text, [1, 2], "seq"] as [RiverValue] {
            #expect(codec.peekSeqAck(try codec.encodeValue(value)) == nil)
        }
        // Cut short inside the payload, before seq and ack.
        let whole = try codec.encode(
            TransportMessage(id: "i", from: "S", to: "c", seq: 1, ack: 2, streamId: "s", controlFlags: [], payload: .bytes(Self.bytes(1000))))
        #expect(codec.peekSeqAck(Array(whole.prefix(500))) == nil)
        #expect(codec.peekSeqAck([]) == nil)
        #expect(codec.peekSeqAck([0xDF, 0xFF, 0xFF, 0xFF, 0xFF]) == nil)  // a lying map count
    }

    @Test("acknowledging ahead frees the acknowledged requests before the frame is decoded, and wakes writers")
    func acknowledgeAheadReleasesTheBuffer() throws {
        var h = MachineHarness(codec: MessagePackCodec()) { $0.maxBufferedMessages = 2 }
        try h.connect()
        _ = try h.send(payload: .bytes(Self.bytes(1 << 20)))
        _ = try h.send(payload: ["n": 1])
        #expect(h.machine.bufferedCount == 2)
        #expect(!h.machine.hasRoom(forBytes: 0))
        var actions: [SessionStateMachine.Action] = []
        // Not the next message from the server (seq 0 is): nothing happens.
        h.machine.acknowledgeAhead(attempt: h.attempt, seq: 1, ack: 1, into: &actions)
        // Another connection's frame: nothing happens.
        h.machine.acknowledgeAhead(attempt: h.attempt + 1, seq: 0, ack: 1, into: &actions)
        #expect(h.machine.bufferedCount == 2)
        #expect(actions.isEmpty)
        h.machine.acknowledgeAhead(attempt: h.attempt, seq: 0, ack: 1, into: &actions)
        #expect(h.machine.bufferedSeqs == [1])
        #expect(actions.contains { if case .bufferHasRoom = $0 { true } else { false } })
        // The frame itself then goes through as usual.
        let delivered = h.machine.frameReceived(h.serverFrame(seq: 0, ack: 2, payload: ["ok": true]), now: h.now, jitter: 0)
        #expect(delivered.delivered.count == 1)
        #expect(h.machine.bufferedCount == 0)
    }

    // MARK: One copy where one is enough

    @Test("a large prepared message kept elsewhere (as a call keeps its open message) goes into the send buffer uncopied, once")
    func preparedLargeMessageIsHandedOver() throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: MessagePackCodec(), clientID: "client", serverID: "SERVER")
        let outbound = SessionStateMachine.Outbound(
            streamId: "s1", controlFlags: [.streamOpen, .streamClosed], payload: ["data": .bytes(Self.bytes(3 << 20))],
            serviceName: "test", procedureName: "echoBinary")
        let prepared = try encoder.prepare(outbound)
        let kept = prepared
        var buffer = SendBuffer()
        let bytes = try encoder.append(prepared, seq: 1, ack: 2, to: &buffer, limit: .max).bytes
        // A copy on append would have made an array of about twice the message.
        #expect(bytes.capacity >= LargeByteArray.mappedCapacity)
        // The same for a message that is large for the send buffer only (no reserve then).
        let smaller = SessionStateMachine.Outbound(streamId: "s1", controlFlags: [], payload: .bytes(Self.bytes(300_000)))
        let preparedSmaller = try encoder.prepare(smaller)
        let keptSmaller = preparedSmaller
        let smallerBytes = try encoder.append(preparedSmaller, seq: 2, ack: 2, to: &buffer, limit: .max).bytes
        #expect(smallerBytes.capacity < smallerBytes.count + 4096)
        _ = keptSmaller
        #expect(throws: SessionStateMachine.SendError.self) {
            _ = try encoder.append(kept, seq: 3, ack: 2, to: &buffer, limit: .max)
        }
    }

    @Test("large bins, Data payloads and encoded messages are reserved to be mapped; small ones are exact",
          arguments: [100, 70_000, 1 << 20, 3 << 20])
    func largeArraysAreReservedMapped(count: Int) throws {
        let large = count >= LargeByteArray.threshold
        func reservedRight(_ array: [UInt8]) -> Bool {
            large ? array.capacity >= LargeByteArray.mappedCapacity : array.capacity < 2 * max(array.count, 64)
        }
        let payload = Self.bytes(count)
        let codec = MessagePackCodec()
        // Encoding a Data.
        let encoded = try RiverValueEncoder().encode(Data(payload))
        guard case .bytes(let fromData) = encoded else {
            Issue.record("a Data encodes as bytes")
            return
        }
        #expect(fromData == payload)
        #expect(reservedRight(fromData))
        // The encoded message.
        let message = TransportMessage(id: "i", from: "S", to: "c", seq: 1, ack: 2, streamId: "s", controlFlags: [], payload: encoded)
        let frame = try codec.encode(message)
        #expect(reservedRight(frame))
        // The decoded bin (bin 32 from 64 KiB up; smaller bins are copied exactly).
        guard case .bytes(let decoded) = try codec.decode(frame).payload else {
            Issue.record("bytes decode as bytes")
            return
        }
        #expect(decoded == payload)
        #expect(reservedRight(decoded))
    }

    // MARK: The received frame is freed once decoded

    @Test("a queued large message reaches the handler as its only reference")
    func queuedMessageIsHandedOver() async throws {
        let gate = DispatchSemaphore(value: 0)
        let unique = Mutex<[Bool]>([])
        let done = OneShotSignal()
        let dispatcher = ConnectionEventDispatcher(label: "test", pauseReceiving: { _ in }) { event in
            guard case .message(var bytes) = consume event else {
                done.raise()
                return
            }
            if bytes.first == 1 {
                // Holds the queue until the second message was dispatched and dropped there.
                gate.wait()
                return
            }
            // Writing into a shared array would copy it first (and move it).
            let before = bytes.withUnsafeBytes { $0.baseAddress }
            let after = bytes.withUnsafeMutableBytes { UnsafeRawPointer($0.baseAddress) }
            unique.withLock { $0.append(before == after) }
        }
        let size = ConnectionEventDispatcher.largeMessageBytes
        dispatcher.dispatch(.message([1] + [UInt8](repeating: 0, count: size)))
        dispatcher.dispatch(.message([2] + [UInt8](repeating: 0, count: size)))
        gate.signal()
        dispatcher.dispatch(.closed(RiverConnectionClosure(code: 1000, reason: "", initiatedLocally: false)))
        await done.wait()
        #expect(unique.withLock { $0 } == [true])
    }
}

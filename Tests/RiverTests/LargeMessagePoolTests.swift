import Testing
@testable import River

/// Large msgpack messages are encoded into blocks the send buffer gives back to the encoder's
/// pool once acknowledged, and a block is reused only when nobody reads its bytes any longer.
@Suite("Large message pool")
struct LargeMessagePoolTests {
    typealias Outbound = SessionStateMachine.Outbound

    static let codec = MessagePackCodec()

    static func outbound(_ fill: Character, count: Int) -> Outbound {
        Outbound(streamId: "s1", controlFlags: [], payload: ["msg": .string(String(repeating: fill, count: count))])
    }

    /// Encodes `outbound` with `seq` into `buffer`; the bytes as the buffer holds them.
    static func send(
        _ outbound: Outbound, seq: Int, _ encoder: SessionStateMachine.OutboundEncoder, _ buffer: inout SendBuffer
    ) throws -> RiverMessageBytes {
        try encoder.append(encoder.prepare(outbound), seq: seq, ack: 0, to: &buffer, limit: .max)
    }

    static func address(_ bytes: RiverMessageBytes) -> UnsafeRawPointer? {
        bytes.withUnsafeBytes { $0.baseAddress }
    }

    /// The bytes `outbound` encodes to with `seq`, whole.
    static func expected(_ bytes: RiverMessageBytes, _ outbound: Outbound, seq: Int) throws -> [UInt8] {
        let id = try codec.decode(bytes.bytes).id
        return try codec.encode(TransportMessage(
            id: id, from: "client", to: "SERVER", seq: seq, ack: 0, streamId: outbound.streamId,
            controlFlags: outbound.controlFlags, payload: outbound.payload))
    }

    @Test func anAcknowledgedMessagesBlockCarriesTheNextOne() throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: Self.codec, clientID: "client", serverID: "SERVER")
        var buffer = SendBuffer()
        let first = Self.outbound("a", count: 1 << 20)
        var written: RiverMessageBytes? = try Self.send(first, seq: 0, encoder, &buffer)
        let firstAddress = written.flatMap(Self.address)
        #expect(try written.map { try Self.expected($0, first, seq: 0) } == written?.bytes)
        written = nil
        buffer.release(upTo: 1)
        // Everything is acknowledged: the block waits in the pool.
        #expect(encoder.largeMessages.spareCount == 1)

        // A smaller message with other bytes goes into the same memory, exactly.
        let second = Self.outbound("b", count: 900_000)
        let again = try Self.send(second, seq: 1, encoder, &buffer)
        #expect(Self.address(again) == firstAddress)
        #expect(encoder.largeMessages.spareCount == 0)
        #expect(again.bytes == (try Self.expected(again, second, seq: 1)))
        #expect(buffer.blockSizes == [again.count])
    }

    @Test func aBlockSomeoneStillReadsIsNeverReused() throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: Self.codec, clientID: "client", serverID: "SERVER")
        var buffer = SendBuffer()
        let first = Self.outbound("a", count: 1 << 20)
        // A connection still framing the first message holds its bytes.
        let reading = try Self.send(first, seq: 0, encoder, &buffer)
        let original = reading.bytes
        buffer.release(upTo: 1)
        #expect(encoder.largeMessages.spareCount == 0)

        let second = Self.outbound("b", count: 1 << 20)
        let next = try Self.send(second, seq: 1, encoder, &buffer)
        #expect(Self.address(next) != Self.address(reading))
        #expect(reading.bytes == original, "the first message's bytes were overwritten while read")
        #expect(next.bytes == (try Self.expected(next, second, seq: 1)))
    }

    @Test func replayedBytesKeepTheirBlockOutOfThePool() throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: Self.codec, clientID: "client", serverID: "SERVER")
        var buffer = SendBuffer()
        _ = try Self.send(Self.outbound("a", count: 400_000), seq: 0, encoder, &buffer)
        _ = try Self.send(Self.outbound("b", count: 400_000), seq: 1, encoder, &buffer)
        // A reconnect hands the held messages to the new connection.
        var replayed: [RiverMessageBytes] = []
        buffer.forEach { replayed.append($0) }
        let copies = replayed.map(\.bytes)
        buffer.release(upTo: 2)
        #expect(encoder.largeMessages.spareCount == 0)
        _ = try Self.send(Self.outbound("c", count: 400_000), seq: 2, encoder, &buffer)
        #expect(replayed.map(\.bytes) == copies)
    }

    @Test func thePoolKeepsABoundedSpareAndOneOnceAllIsAcknowledged() throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: Self.codec, clientID: "client", serverID: "SERVER")
        var buffer = SendBuffer()
        for seq in 0..<12 { _ = try Self.send(Self.outbound("a", count: 1 << 20), seq: seq, encoder, &buffer) }
        // All but the newest acknowledged: as many blocks as fit the bound wait.
        buffer.release(upTo: 11)
        let spares = encoder.largeMessages.spareCount
        #expect(spares >= 1 && spares * (1 << 20) <= LargeMessagePool.maximumSpareBytes)
        buffer.release(upTo: 12)
        #expect(encoder.largeMessages.spareCount == 1)
    }

    @Test(arguments: [100_000, 3 << 20])
    func messagesOutsideThePoolsRangeAreArrays(count: Int) throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: Self.codec, clientID: "client", serverID: "SERVER")
        var buffer = SendBuffer()
        let outbound = Self.outbound("a", count: count)
        let written = try Self.send(outbound, seq: 0, encoder, &buffer)
        #expect(written.bytes == (try Self.expected(written, outbound, seq: 0)))
        buffer.release(upTo: 1)
        #expect(encoder.largeMessages.spareCount == 0)
    }
}

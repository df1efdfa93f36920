import Testing
@testable import River

/// The session's send buffer: messages in a few blocks, released on acknowledgement, replayed
/// byte for byte.
@Suite("Send buffer")
struct SendBufferTests {
    /// A message of `count` bytes whose content names its index (so a mix-up shows).
    static func message(_ index: Int, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: index &* 31), count: count)
        for position in 0..<min(count, 8) { bytes[position] = UInt8(truncatingIfNeeded: index >> (8 * position)) }
        if count > 8 { bytes[count - 1] = UInt8(truncatingIfNeeded: count) }
        return bytes
    }

    /// Appends `bytes` whole (as a codec without the seq/ack split does).
    @discardableResult
    static func append(_ bytes: [UInt8], to buffer: inout SendBuffer, limit: Int = .max) throws -> RiverMessageBytes {
        try buffer.append(head: bytes, middle: { _ in }, tail: [], limit: limit)
    }

    static func held(_ buffer: SendBuffer) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        buffer.forEach { messages.append($0.bytes) }
        return messages
    }

    @Test func aMessageIsItsThreePartsInOrderAndNumbered() throws {
        var buffer = SendBuffer()
        let written = try buffer.append(head: [1, 2], middle: { $0 += [3, 4, 5] }, tail: [6], limit: 100)
        #expect(written.bytes == [1, 2, 3, 4, 5, 6])
        #expect(buffer.firstSeq == 0 && buffer.nextSeq == 1 && buffer.count == 1)
        #expect(buffer.bytes == 6 + SendBuffer.bytesPerMessage)
        #expect(Self.held(buffer) == [[1, 2, 3, 4, 5, 6]])
    }

    @Test func partialAcknowledgementsReleaseTheOldestAndKeepTheRestExact() throws {
        var buffer = SendBuffer()
        let messages = (0..<10).map { Self.message($0, count: 10 + $0) }  // all in the first block
        for message in messages { try Self.append(message, to: &buffer) }
        buffer.release(upTo: 3)
        #expect(buffer.firstSeq == 3 && buffer.count == 7)
        #expect(Self.held(buffer) == Array(messages[3...]))
        #expect(buffer.bytes == messages[3...].reduce(0) { $0 + $1.count + SendBuffer.bytesPerMessage })
        // An acknowledgement of what was already released, or of nothing, changes nothing.
        buffer.release(upTo: 2)
        buffer.release(upTo: 3)
        #expect(buffer.firstSeq == 3 && buffer.count == 7)
        buffer.release(upTo: 10)
        #expect(buffer.isEmpty && buffer.bytes == 0 && buffer.firstSeq == 10 && buffer.nextSeq == 10)
    }

    /// An acknowledgement beyond what was sent (a misbehaving peer) releases everything and
    /// never moves the numbering past the next seq.
    @Test func anAcknowledgementBeyondTheLastMessageReleasesOnlyWhatExists() throws {
        var buffer = SendBuffer()
        for index in 0..<3 { try Self.append(Self.message(index, count: 20), to: &buffer) }
        buffer.release(upTo: 1_000)
        #expect(buffer.isEmpty && buffer.firstSeq == 3 && buffer.nextSeq == 3 && buffer.bytes == 0)
    }

    @Test func blocksGrowWithWhatIsBufferedUpToTheLargestSize() throws {
        var buffer = SendBuffer()
        var index = 0
        while buffer.bytes < 2 << 20 {
            try Self.append(Self.message(index, count: 107), to: &buffer)
            index += 1
        }
        let sizes = buffer.blockSizes
        #expect(sizes.first == SendBuffer.minimumBlockSize)
        #expect(sizes.last == SendBuffer.maximumBlockSize)
        #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $0 <= $1 }, "sizes only grow while nothing is released")
        // Memory is what the bound counts, give or take the newest block's unfilled end.
        let memory = sizes.reduce(0, +)
        #expect(memory >= buffer.bytes - buffer.count * SendBuffer.bytesPerMessage)
        #expect(memory - (buffer.bytes - buffer.count * SendBuffer.bytesPerMessage) < SendBuffer.maximumBlockSize)
        #expect(Self.held(buffer).count == index)
    }

    /// A block is freed (or kept as the spare) once all its messages are acknowledged, and the
    /// unused end of a block no longer written to counts against the bound until then.
    @Test func acknowledgedBlocksAreFreedAndTheirUnusedEndsStopCounting() throws {
        var buffer = SendBuffer()
        // Messages of 60 % of the smallest block: one fits, the second opens a new block.
        let size = SendBuffer.minimumBlockSize * 6 / 10
        for index in 0..<2 { try Self.append(Self.message(index, count: size), to: &buffer) }
        #expect(buffer.blockSizes == [SendBuffer.minimumBlockSize, SendBuffer.minimumBlockSize])
        let unusedEnd = SendBuffer.minimumBlockSize - size
        #expect(buffer.bytes == 2 * (size + SendBuffer.bytesPerMessage) + unusedEnd)
        buffer.release(upTo: 1)
        #expect(buffer.blockSizes.count == 1)
        #expect(buffer.bytes == size + SendBuffer.bytesPerMessage)
        #expect(Self.held(buffer) == [Self.message(1, count: size)])
    }

    /// Once everything is acknowledged the newest block starts over from its beginning: the
    /// buffer wraps around in the same memory instead of allocating.
    @Test func anEmptiedBufferWrapsAroundInTheSameBlock() throws {
        var buffer = SendBuffer()
        let size = SendBuffer.minimumBlockSize / 5
        for round in 0..<100 {
            for index in 0..<5 { try Self.append(Self.message(round * 5 + index, count: size), to: &buffer) }
            #expect(Self.held(buffer) == (0..<5).map { Self.message(round * 5 + $0, count: size) })
            buffer.release(upTo: buffer.nextSeq)
            #expect(buffer.bytes == 0)
        }
        #expect(buffer.blockSizes == [SendBuffer.minimumBlockSize])
        #expect(buffer.nextSeq == 500)
    }

    /// Bytes a connection still holds are never overwritten, even after they were acknowledged
    /// and the buffer moved on.
    @Test func bytesHandedOutStayIntactWhileTheBufferReusesItsMemory() throws {
        var buffer = SendBuffer()
        let first = Self.message(1, count: 300)
        let handedOut = try Self.append(first, to: &buffer)
        buffer.release(upTo: 1)
        for index in 2..<200 {
            try Self.append(Self.message(index, count: 300), to: &buffer)
            buffer.release(upTo: buffer.nextSeq)
        }
        #expect(handedOut.bytes == first)
    }

    /// After an upload the large blocks are given back; a small one stays for the next message.
    @Test func largeBlocksAreFreedOnceEverythingIsAcknowledged() throws {
        var buffer = SendBuffer()
        for index in 0..<20_000 { try Self.append(Self.message(index, count: 107), to: &buffer) }
        #expect(buffer.blockSizes.contains(SendBuffer.maximumBlockSize))
        buffer.release(upTo: buffer.nextSeq)
        #expect(buffer.blockSizes.allSatisfy { $0 <= SendBuffer.largestBlockKeptWhenEmpty })
        #expect(buffer.bytes == 0)
        try Self.append(Self.message(0, count: 107), to: &buffer)
        #expect(buffer.blockSizes.allSatisfy { $0 <= SendBuffer.largestBlockKeptWhenEmpty })
    }

    @Test func aMessageLargerThanABlockGetsABlockOfItsOwn() throws {
        var buffer = SendBuffer()
        try Self.append(Self.message(0, count: 10), to: &buffer)
        let large = Self.message(1, count: SendBuffer.maximumBlockSize * 3 + 5)
        try Self.append(large, to: &buffer)
        try Self.append(Self.message(2, count: 10), to: &buffer)
        #expect(buffer.blockSizes.contains(large.count))
        #expect(Self.held(buffer) == [Self.message(0, count: 10), large, Self.message(2, count: 10)])
        buffer.release(upTo: 2)
        #expect(Self.held(buffer) == [Self.message(2, count: 10)])
        #expect(!buffer.blockSizes.contains(large.count), "its block is freed with it, never kept as the spare")
    }

    /// A message larger than the largest block stays in the encoder's array (which has room
    /// reserved for the seq, ack and tail): not copied again on its way to the connection.
    @Test func aMessageLargerThanABlockIsNotCopied() throws {
        var buffer = SendBuffer()
        var head = Self.message(7, count: SendBuffer.maximumBlockSize + 100)
        head.reserveCapacity(head.count + 64)
        let address = head.withUnsafeBytes { Int(bitPattern: $0.baseAddress) }
        let written = try buffer.append(head: consume head, middle: { $0 += [1, 2] }, tail: [3], limit: .max)
        #expect(written.withUnsafeBytes { Int(bitPattern: $0.baseAddress) } == address)
        buffer.forEach { replayed in #expect(replayed.withUnsafeBytes { Int(bitPattern: $0.baseAddress) } == address) }
        #expect(written.count == SendBuffer.maximumBlockSize + 103)
    }

    @Test func aMessageOverTheLimitIsRefusedAndTakesNoSeq() throws {
        var buffer = SendBuffer()
        try Self.append(Self.message(0, count: 10), to: &buffer)
        #expect(throws: SessionStateMachine.SendError.tooLarge(bytes: 101, limit: 100)) {
            try buffer.append(head: Self.message(1, count: 50), middle: { $0 += [0] }, tail: Self.message(2, count: 50), limit: 100)
        }
        #expect(buffer.nextSeq == 1 && buffer.count == 1)
        #expect(buffer.bytes == 10 + SendBuffer.bytesPerMessage)
        #expect(Self.held(buffer) == [Self.message(0, count: 10)])
    }

    /// Random sizes (including empty and block-sized messages) and random acknowledgements,
    /// checked against a plain list after every step.
    @Test(arguments: [1 as UInt64, 2, 3])
    func randomAppendsAndAcknowledgementsMatchAPlainList(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var buffer = SendBuffer()
        var model: [(seq: Int, bytes: [UInt8])] = []
        var nextSeq = 0
        for _ in 0..<1_000 {
            if Int.random(in: 0..<3, using: &random) > 0 {
                let count = [0, 1, 100, 700, 1_024, 5_000, SendBuffer.maximumBlockSize + 1][Int.random(in: 0..<7, using: &random)]
                let bytes = Self.message(nextSeq, count: count)
                let written = try Self.append(bytes, to: &buffer)
                #expect(written.bytes == bytes)
                model.append((nextSeq, bytes))
                nextSeq += 1
            } else {
                let ack = Int.random(in: (model.first?.seq ?? nextSeq)...nextSeq, using: &random)
                buffer.release(upTo: ack)
                model.removeAll { $0.seq < ack }
            }
            #expect(buffer.nextSeq == nextSeq)
            #expect(buffer.firstSeq == (model.first?.seq ?? nextSeq))
            let counted = model.reduce(0) { $0 + $1.bytes.count + SendBuffer.bytesPerMessage }
            #expect(buffer.bytes >= counted)
            #expect(buffer.bytes - counted <= buffer.blockSizes.count * SendBuffer.maximumBlockSize)
            if model.isEmpty { #expect(buffer.bytes == 0) }
        }
        #expect(Self.held(buffer) == model.map(\.bytes))
    }
}

/// The send buffer as the session machine uses it: bound, back-pressure and replay.
@Suite("Send buffer in the session")
struct SessionSendBufferTests {
    @Test func theBoundCountsBytesAndIndexAndRoomReturnsOnAcknowledgement() throws {
        var h = MachineHarness { $0.maxBufferedBytes = 2_000 }
        try h.connect()
        var sizes: [Int] = []
        while h.machine.hasRoom(forBytes: 0) {
            let (_, actions) = try h.send()
            sizes += h.writes(in: actions).map(\.count)
        }
        let counted = sizes.reduce(0) { $0 + $1 + SendBuffer.bytesPerMessage }
        #expect(h.machine.bufferedBytes >= counted)
        #expect(h.machine.bufferedBytes >= 2_000)
        #expect(h.machine.bufferedBytes - counted < 2_000, "at most the unused ends of closed blocks")
        // Acknowledging half makes room and wakes the writers.
        let half = sizes.count / 2
        let actions = h.machine.frameReceived(
            h.serverFrame(seq: 0, ack: half, payload: ["ok": true, "payload": [:]]), now: h.now, jitter: 0)
        #expect(actions.contains(.bufferHasRoom))
        #expect(h.machine.hasRoom(forBytes: 0))
        #expect(h.machine.bufferedSeqs == Array(half..<sizes.count))
    }

    /// After a reconnect the unacknowledged messages go out again in order, each exactly as
    /// first sent (same id, seq and the ack it first carried, as the reference does), msgpack.
    @Test func replayAfterReconnectSendsTheExactBytesInOrder() throws {
        var h = MachineHarness(codec: MessagePackCodec())
        try h.connect()
        var original: [[UInt8]] = []
        for index in 0..<300 {
            let (_, actions) = try h.send(payload: ["n": .int(Int64(index)), "pad": .string(String(repeating: "p", count: index % 40))])
            original += h.writes(in: actions)
            if index == 99 {
                // The server acknowledges the first 50 and has sent one message of its own.
                _ = h.machine.frameReceived(h.serverFrame(seq: 0, ack: 50, payload: ["ok": true, "payload": [:]]), now: h.now, jitter: 0)
            }
        }
        var actions = h.machine.connectionClosed(attempt: h.attempt, reason: "dropped", now: h.now, jitter: 0)
        actions += h.advanceToDial()
        let dial = try #require(actions.compactMap { if case .dial(let a) = $0 { a } else { nil } }.last)
        _ = h.machine.dialSucceeded(attempt: dial, now: h.now)
        let request = try h.handshakeRequest(in: h.machine.metadataReady(attempt: dial, result: .success(nil), now: h.now))
        #expect(request.expectedSessionState == ExpectedSessionState(nextExpectedSeq: 1, nextSentSeq: 50))
        let id = try #require(h.machine.sessionID)
        let resumed = h.machine.frameReceived(h.handshakeResponse(.ok(sessionId: id)), now: h.now, jitter: 0)
        let replay = h.writes(in: resumed)
        #expect(replay == Array(original[50...]))
        let decoded = try replay.map { try h.codec.decode($0) }
        #expect(decoded.map(\.seq) == Array(50..<300))
        #expect(decoded.map(\.ack) == Array(repeating: 0, count: 50) + Array(repeating: 1, count: 200))
        // Sends after the resume carry the current ack and continue the numbering.
        let (seq, after) = try h.send()
        #expect(seq == 300)
        #expect(try h.decodedWrites(in: after).map(\.ack) == [1])
    }
}

@Suite("Message bytes")
struct RiverMessageBytesTests {
    /// A connection queues one per message: it stays two words.
    @Test func aMessageIsTwoWords() {
        #expect(MemoryLayout<RiverMessageBytes>.size == 16)
    }
}

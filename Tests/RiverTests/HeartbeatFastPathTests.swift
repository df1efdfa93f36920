import Testing
@testable import River

/// The heartbeat fast path: a heartbeat recognised from its bytes (`MessagePackCodec.peekHeartbeat(_:from:)`) and
/// answered from an echo encoded once (``SessionStateMachine/OutboundEncoder``) has exactly the
/// effects and the bytes of the general path (decode, ``SessionStateMachine/frameReceived(decoded:now:jitter:)``).
@Suite("Heartbeat fast path")
struct HeartbeatFastPathTests {
    typealias Action = SessionStateMachine.Action

    static let codec = MessagePackCodec()
    static let server = Array("SERVER".utf8)

    /// Numbers on both sides of every msgpack integer width (positive fixint, uint 8, 16,
    /// 32, 64).
    static let numbers = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 4_294_967_295, 4_294_967_296, Int.max]

    static func heartbeat(seq: Int, ack: Int, from: String = "SERVER", id: String = "abcdefghijkl") -> TransportMessage {
        TransportMessage(
            id: id, from: from, to: "client", seq: seq, ack: ack, streamId: "heartbeat", controlFlags: .ack,
            payload: ["type": "ACK"])
    }

    // MARK: Recognising a heartbeat

    @Test("the reference heartbeat is recognised with its seq and ack, at every integer width")
    func recognisesHeartbeats() throws {
        for (seq, ack) in zip(Self.numbers, Self.numbers.reversed()) {
            let bytes = try Self.codec.encode(Self.heartbeat(seq: seq, ack: ack))
            let peeked = try #require(Self.codec.peekHeartbeat(bytes, from: Self.server), "seq \(seq) ack \(ack)")
            #expect(peeked.seq == seq && peeked.ack == ack)
        }
    }

    @Test("anything but a plain well-formed Ack message from the server is left to the general decode")
    func leavesEverythingElseToTheDecoder() throws {
        let codec = Self.codec
        func peek(_ message: TransportMessage) throws -> (seq: Int, ack: Int)? {
            codec.peekHeartbeat(try codec.encode(message), from: Self.server)
        }
        var message = Self.heartbeat(seq: 3, ack: 4)
        #expect(try peek(message) != nil)
        // Another sender (the session reports it), no Ack bit (a data message), another payload.
        #expect(try peek(Self.heartbeat(seq: 3, ack: 4, from: "OTHER")) == nil)
        #expect(try peek(Self.heartbeat(seq: 3, ack: 4, from: "SERVER2")) == nil)
        message.controlFlags = []
        #expect(try peek(message) == nil)
        message.controlFlags = .streamClosed
        #expect(try peek(message) == nil)
        message = Self.heartbeat(seq: 3, ack: 4)
        message.payload = ["type": "ACK", "x": 1]
        #expect(try peek(message) == nil)
        message.payload = ["type": "CLOSE"]
        #expect(try peek(message) == nil)
        // Optional fields.
        message = Self.heartbeat(seq: 3, ack: 4)
        message.tracing = TracingContext(traceparent: "00-a-b-01", tracestate: "")
        #expect(try peek(message) == nil)
        message = Self.heartbeat(seq: 3, ack: 4)
        message.serviceName = "s"
        #expect(try peek(message) == nil)
        // A non-ASCII id (the general decode validates its UTF-8).
        #expect(try peek(Self.heartbeat(seq: 3, ack: 4, id: "ünïcödé")) == nil)

        let good = try codec.encode(Self.heartbeat(seq: 3, ack: 4))
        // Trailing bytes, a truncated frame, an empty one.
        #expect(codec.peekHeartbeat(good + [0x00], from: Self.server) == nil)
        #expect(codec.peekHeartbeat(Array(good.dropLast()), from: Self.server) == nil)
        #expect(codec.peekHeartbeat([], from: Self.server) == nil)
        // An unknown key instead of `to`; `seq` twice (the second in place of `to`).
        #expect(codec.peekHeartbeat(Self.replacingKey("to", with: "tx", in: good), from: Self.server) == nil)
        #expect(codec.peekHeartbeat(Self.replacingKey("to", with: "seq", in: good, valueFrom: "seq"), from: Self.server) == nil)
    }

    @Test("seq and ack in forms the general decode reads differently are left to it")
    func otherNumberFormsAreLeftToTheDecoder() throws {
        let good = try Self.codec.encode(Self.heartbeat(seq: 3, ack: 4))
        let seqAt = try #require(Self.valueOffset(of: "seq", in: good))
        #expect(good[seqAt] == 0x03)
        // A float64 3.0 (accepted by the decoder as an integer), and a negative fixint.
        var float = good
        float.replaceSubrange(seqAt...seqAt, with: [0xCB, 0x40, 0x08, 0, 0, 0, 0, 0, 0])
        #expect(try Self.codec.decode(float).seq == 3)
        #expect(Self.codec.peekHeartbeat(float, from: Self.server) == nil)
        var negative = good
        negative[seqAt] = 0xFF
        #expect(Self.codec.peekHeartbeat(negative, from: Self.server) == nil)
        // A uint 8 encoding of 3 (not the smallest form; the decoder accepts it, so may this).
        var wide = good
        wide.replaceSubrange(seqAt...seqAt, with: [0xCC, 0x03])
        #expect(Self.codec.peekHeartbeat(wide, from: Self.server)?.seq == 3)
    }

    /// Every frame the peek vouches for decodes, as a message from the server with the Ack bit
    /// and the same seq and ack: checked over every single-byte change of a heartbeat.
    @Test("whatever the peek accepts, the general decode accepts with the same seq, ack, sender and Ack bit")
    func acceptedFramesDecodeTheSame() throws {
        let good = try Self.codec.encode(Self.heartbeat(seq: 200, ack: 70_000))
        var accepted = 0
        var random = SplitMix64(seed: 16)
        for index in good.indices {
            let replacements: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xA0, 0xC0, 0xCC, 0xD9, 0xFF, good[index] &+ 1, UInt8.random(in: 0...255, using: &random)]
            for byte in replacements where byte != good[index] {
                var bytes = good
                bytes[index] = byte
                guard let peeked = Self.codec.peekHeartbeat(bytes, from: Self.server) else { continue }
                accepted += 1
                let decoded = try Self.codec.decode(bytes)
                #expect(decoded.seq == peeked.seq && decoded.ack == peeked.ack, "byte \(index) = \(byte)")
                #expect(decoded.from == "SERVER" && decoded.controlFlags.contains(.ack), "byte \(index) = \(byte)")
            }
        }
        // Changes inside the id, `to` and the stream id keep it a heartbeat.
        #expect(accepted > 0)
    }

    // MARK: The echo's bytes

    @Test("the echo from the template is byte for byte the general encoding, at every integer width", arguments: [JSONCodec() as any RiverCodec, MessagePackCodec()])
    func echoMatchesTheGeneralEncoding(codec: any RiverCodec) throws {
        let encoder = SessionStateMachine.OutboundEncoder(codec: codec, clientID: "client", serverID: "SERVER")
        for seq in Self.numbers {
            for ack in Self.numbers {
                var buffer = SendBuffer()
                let id = RiverID.generate()
                let fast = try encoder.appendHeartbeat(id: id, seq: seq, ack: ack, to: &buffer, limit: .max).bytes
                let expected = TransportMessage(
                    id: id, from: "client", to: "SERVER", seq: seq, ack: ack, streamId: "heartbeat", controlFlags: .ack,
                    payload: ["type": "ACK"])
                #expect(fast == (try codec.encode(expected)), "\(codec.name) seq \(seq) ack \(ack)")
                // And what the general path (prepare, then append) makes of the same message.
                var generalBuffer = SendBuffer()
                let prepared = try encoder.prepare(SessionStateMachine.OutboundEncoder.heartbeatOutbound)
                let general = try encoder.append(prepared, seq: seq, ack: ack, to: &generalBuffer, limit: .max).bytes
                let generalID = try codec.decode(general).id
                let fastWithThatID = try encoder.appendHeartbeat(id: generalID, seq: seq, ack: ack, to: &buffer, limit: .max)
                #expect(fastWithThatID.bytes == general, "\(codec.name) seq \(seq) ack \(ack)")
            }
        }
    }

    @Test("ids and ends of any length still encode exactly (through the general encoding)")
    func unusualIDsAndPeers() throws {
        for codec in [JSONCodec() as any RiverCodec, MessagePackCodec()] {
            for (client, server) in [("", ""), ("c", String(repeating: "s", count: 40)), ("ünï\"\\", "SERVER")] {
                let encoder = SessionStateMachine.OutboundEncoder(codec: codec, clientID: client, serverID: server)
                for id in ["", "short", RiverID.generate(), String(repeating: "x", count: 40)] {
                    var buffer = SendBuffer()
                    let bytes = try encoder.appendHeartbeat(id: id, seq: 300, ack: 70_000, to: &buffer, limit: .max).bytes
                    let expected = TransportMessage(
                        id: id, from: client, to: server, seq: 300, ack: 70_000, streamId: "heartbeat", controlFlags: .ack,
                        payload: ["type": "ACK"])
                    #expect(bytes == (try codec.encode(expected)), "\(codec.name) \(client) \(server) \(id)")
                }
            }
        }
    }

    // MARK: The machine

    /// Two machines driven alike, one through the general path and one through the fast path,
    /// over seqs and acks that cross the msgpack integer widths, with data messages of the
    /// client's in between (so acks drop messages and the echo's seq runs ahead of its ack):
    /// the same actions (the echoes byte for byte, ids aside) and the same state after each.
    @Test("the fast path has the general path's actions, echo bytes and state, message for message")
    func fastPathMatchesGeneralPath() throws {
        var slow = MachineHarness(codec: MessagePackCodec())
        var fast = MachineHarness(codec: MessagePackCodec())
        fast.now = slow.now
        try slow.connect()
        try fast.connect()
        var serverSeq = 0
        for round in 0..<700 {
            if round % 3 == 0 {
                let a = try slow.send(payload: ["n": .int(Int64(round))])
                let b = try fast.send(payload: ["n": .int(Int64(round))])
                #expect(a.0 == b.0)
            }
            slow.now = slow.now + .milliseconds(7)
            fast.now = fast.now + .milliseconds(7)
            // Acknowledge all but the last few of the client's messages.
            let ack = max(0, (slow.machine.nextSeq ?? 0) - round % 5)
            let frame = Self.frame(slow.codec, seq: serverSeq, ack: ack)
            serverSeq += 1
            let slowActions = slow.machine.frameReceived(frame, now: slow.now, jitter: 0)
            let peeked = try #require(MessagePackCodec().peekHeartbeat(frame, from: Self.server))
            #expect(fast.machine.takesHeartbeat(seq: peeked.seq))
            var fastActions: [Action] = []
            fast.machine.heartbeatReceived(seq: peeked.seq, ack: peeked.ack, now: fast.now, into: &fastActions)
            try Self.expectSame(slowActions, fastActions, codec: slow.codec, round: round)
            Self.expectSameState(slow.machine, fast.machine, round: round)
        }
        #expect(slow.machine.nextSeq ?? 0 > 256 && slow.machine.ack ?? 0 > 256)
    }

    @Test("the writers waiting for room are woken alike when a heartbeat's ack frees the buffer")
    func bufferHasRoomAlike() throws {
        let start = ContinuousClock.now
        func harness() throws -> MachineHarness {
            var h = MachineHarness(codec: MessagePackCodec()) { $0.maxBufferedMessages = 2 }
            h.now = start
            try h.connect()
            _ = try h.send()
            _ = try h.send()
            #expect(!h.machine.hasRoom(forBytes: 0))
            return h
        }
        var slow = try harness()
        var fast = try harness()
        let frame = Self.frame(slow.codec, seq: 0, ack: 2)
        let slowActions = slow.machine.frameReceived(frame, now: slow.now, jitter: 0)
        var fastActions: [Action] = []
        fast.machine.heartbeatReceived(seq: 0, ack: 2, now: fast.now, into: &fastActions)
        #expect(slowActions.contains(.bufferHasRoom))
        try Self.expectSame(slowActions, fastActions, codec: slow.codec, round: 0)
        Self.expectSameState(slow.machine, fast.machine, round: 0)
    }

    @Test("a duplicate, a gap, or a machine not connected is not taken: the general path reports it")
    func anomaliesAreNotTaken() throws {
        var h = MachineHarness(codec: MessagePackCodec())
        #expect(!h.machine.takesHeartbeat(seq: 0))
        try h.connect()
        #expect(h.machine.takesHeartbeat(seq: 0))
        #expect(!h.machine.takesHeartbeat(seq: 1))
        _ = h.machine.frameReceived(Self.frame(h.codec, seq: 0, ack: 0), now: h.now, jitter: 0)
        #expect(!h.machine.takesHeartbeat(seq: 0))
        #expect(h.machine.takesHeartbeat(seq: 1))
        _ = h.machine.connectionClosed(attempt: h.attempt, reason: "gone", now: h.now, jitter: 0)
        #expect(!h.machine.takesHeartbeat(seq: 1))
    }

    // MARK: Helpers

    static func frame(_ codec: any RiverCodec, seq: Int, ack: Int) -> [UInt8] {
        (try? codec.encode(heartbeat(seq: seq, ack: ack, id: RiverID.generate()))) ?? []
    }

    /// The same actions; writes are compared as bytes with the fast echo's id replaced by the
    /// general echo's (every echo gets a fresh random id).
    static func expectSame(_ slow: [Action], _ fast: [Action], codec: any RiverCodec, round: Int) throws {
        #expect(slow.count == fast.count, "round \(round)")
        for (a, b) in zip(slow, fast) {
            guard case .write(let slowBytes) = a, case .write(let fastBytes) = b else {
                #expect(a == b, "round \(round)")
                continue
            }
            let slowID = Array(try codec.decode(slowBytes.bytes).id.utf8)
            let fastID = Array(try codec.decode(fastBytes.bytes).id.utf8)
            var rewritten = fastBytes.bytes
            let at = try #require(rewritten.firstRange(of: fastID), "round \(round)")
            rewritten.replaceSubrange(at, with: slowID)
            #expect(rewritten == slowBytes.bytes, "round \(round)")
        }
    }

    static func expectSameState(_ slow: SessionStateMachine, _ fast: SessionStateMachine, round: Int) {
        #expect(slow.state == fast.state, "round \(round)")
        #expect(slow.nextSeq == fast.nextSeq && slow.ack == fast.ack, "round \(round)")
        #expect(slow.bufferedSeqs == fast.bufferedSeqs && slow.bufferedBytes == fast.bufferedBytes, "round \(round)")
        #expect(slow.nextDeadline == fast.nextDeadline, "round \(round)")
        #expect(slow.deadlineGeneration == fast.deadlineGeneration, "round \(round)")
    }

    /// Where the value of top-level `key` starts in a msgpack map of fixstr keys.
    static func valueOffset(of key: String, in bytes: [UInt8]) -> Int? {
        let needle = [UInt8(0xA0 | key.utf8.count)] + Array(key.utf8)
        return bytes.firstRange(of: needle).map { $0.upperBound }
    }

    /// `bytes` with top-level key `old` renamed to `new`; with `valueFrom`, the value of that
    /// key's entry replaced by the value of key `valueFrom` (a fixint seq).
    static func replacingKey(_ old: String, with new: String, in bytes: [UInt8], valueFrom: String? = nil) -> [UInt8] {
        let oldKey = [UInt8(0xA0 | old.utf8.count)] + Array(old.utf8)
        let newKey = [UInt8(0xA0 | new.utf8.count)] + Array(new.utf8)
        guard let range = bytes.firstRange(of: oldKey) else { return bytes }
        var result = bytes
        if let valueFrom, let source = valueOffset(of: valueFrom, in: bytes) {
            // The value after `old` is a fixstr; replace it with the source's one-byte value.
            let valueStart = range.upperBound
            let length = Int(bytes[valueStart] & 0x1F) + 1
            result.replaceSubrange(valueStart..<(valueStart + length), with: [bytes[source]])
        }
        result.replaceSubrange(range, with: newKey)
        return result
    }
}

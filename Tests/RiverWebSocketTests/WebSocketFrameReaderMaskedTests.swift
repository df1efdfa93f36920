import River
import RiverWebSocket
import Testing

/// `WebSocketFrameReader` reading a client's frames (`peerMasks: true`, RFC 6455 §5.3): every
/// payload unmasked while it is copied, with the key rotated by the payload offset however the
/// input is split, an unmasked frame refused with 1002, and every other rule as for a server's
/// frames.
@Suite("WebSocket frame reader, masked frames")
struct WebSocketFrameReaderMaskedTests {
    typealias Event = WebSocketFrameReader.Event
    typealias Outcome = WebSocketFrameReaderTests.Outcome

    /// Reads a client's `bytes` like ``WebSocketFrameReaderTests/read(_:in:maximumMessageSize:peerMasks:)``.
    static func read(_ bytes: [UInt8], in sizes: [Int] = [], maximumMessageSize: Int = 1 << 20) -> Outcome {
        WebSocketFrameReaderTests.read(bytes, in: sizes, maximumMessageSize: maximumMessageSize, peerMasks: true)
    }

    /// A frame as a client sends it, masked with `key` (all four bytes differ, so a key applied
    /// at the wrong offset changes every byte).
    static func frame(opcode: UInt8, fin: Bool = true, payload: [UInt8], key: [UInt8] = [0x12, 0x34, 0x56, 0x78]) -> [UInt8] {
        ServerFrame.frame(opcode: opcode, fin: fin, payload: payload, maskKey: key)
    }

    // MARK: Lengths and keys

    @Test("every payload length encoding, masked, reads back exactly",
          arguments: [0, 1, 2, 3, 4, 5, 7, 125, 126, 127, 65_535, 65_536, 300_001])
    func lengthEncodings(length: Int) {
        let payload = pattern(count: length, seed: UInt8(length % 251))
        let bytes = Self.frame(opcode: 0x2, payload: payload)
        // The header is the shortest encoding, then the 4-byte key.
        let headerSize = (length < 126 ? 2 : length < 65_536 ? 4 : 10) + 4
        #expect(bytes.count == headerSize + length)
        #expect(Self.read(bytes) == Outcome(events: [.message(payload, isText: false)]))
    }

    @Test("a zero key leaves the payload as sent; a key of 0xFF bytes inverts it")
    func trivialKeys() {
        let payload = pattern(count: 9, seed: 5)
        #expect(Self.read(Self.frame(opcode: 0x2, payload: payload, key: [0, 0, 0, 0])).events == [.message(payload, isText: false)])
        let inverted = Array(Self.frame(opcode: 0x2, payload: payload, key: [0, 0, 0, 0]).prefix(2)) + [0xFF, 0xFF, 0xFF, 0xFF]
            + payload.map { ~$0 }
        #expect(Self.read(inverted).events == [.message(payload, isText: false)])
    }

    /// A client stream with every kind of frame and every length encoding, payloads of lengths
    /// that are not multiples of 4 (so a read can stop at any key offset), a key of its own per
    /// frame, control frames inside a fragmented message, ending with a close.
    static let mixedStream: [UInt8] =
        frame(opcode: 0x1, payload: Array("first".utf8), key: [1, 2, 3, 4])
        + frame(opcode: 0x2, fin: false, payload: pattern(count: 127, seed: 1), key: [0xF0, 0x0F, 0xAA, 0x55])
        + frame(opcode: 0x9, payload: [1, 2, 3], key: [9, 8, 7, 6])
        + frame(opcode: 0x0, fin: false, payload: [], key: [0xDE, 0xAD, 0xBE, 0xEF])
        + frame(opcode: 0x0, fin: false, payload: pattern(count: 6, seed: 7), key: [0x11, 0x22, 0x33, 0x44])
        + frame(opcode: 0xA, payload: [5, 6, 7, 8, 9], key: [0x80, 0x40, 0x20, 0x10])
        + frame(opcode: 0x0, payload: pattern(count: 65_537, seed: 2), key: [0x01, 0x03, 0x07, 0x0F])
        + frame(opcode: 0x2, payload: pattern(count: 65_535, seed: 3), key: [0xFE, 0xDC, 0xBA, 0x98])
        + frame(opcode: 0x1, payload: [], key: [0x13, 0x57, 0x9B, 0xDF])
        + frame(opcode: 0x8, payload: [0x0F, 0xA1] + Array("done".utf8), key: [0x31, 0x41, 0x59, 0x26])

    // Computed, not stored: LeakSanitizer cannot trace a static array of enums with payloads.
    static var mixedEvents: [Event] {
        [
            .message(Array("first".utf8), isText: true),
            .ping([1, 2, 3]),
            .pong,
            .message(pattern(count: 127, seed: 1) + pattern(count: 6, seed: 7) + pattern(count: 65_537, seed: 2), isText: false),
            .message(pattern(count: 65_535, seed: 3), isText: false),
            .message([], isText: true),
            .close(code: 4001, reason: "done"),
        ]
    }

    /// The (payload length, header size with the key) of each frame of ``mixedStream``.
    static let mixedFrames = [(5, 6), (127, 8), (3, 6), (0, 6), (6, 6), (5, 6), (65_537, 14), (65_535, 8), (0, 6), (6, 6)]

    @Test("the stream read in one piece, one byte at a time, and in two pieces split at every header byte and payload edge gives the same events")
    func everySplit() {
        let bytes = Self.mixedStream
        #expect(bytes.count == Self.mixedFrames.reduce(0) { $0 + $1.0 + $1.1 })
        #expect(Self.read(bytes).events == Self.mixedEvents)
        #expect(Self.read(bytes, in: Array(repeating: 1, count: bytes.count)).events == Self.mixedEvents)
        // Every byte of the small frames, and around every header and payload edge of the big ones
        // (plus 1, 2 and 3 bytes into and before their ends, the key offsets).
        var splits = Set<Int>()
        var offset = 0
        for (length, headerSize) in Self.mixedFrames {
            let end = offset + headerSize + length
            if length < 200 {
                splits.formUnion(offset...end)
            } else {
                splits.formUnion(offset...(offset + headerSize + 5))
                splits.formUnion((end - 5)...end)
            }
            offset = end
        }
        let expected = Self.mixedEvents
        for split in splits.sorted() {
            let events = Self.read(bytes, in: [split]).events
            #expect(events == expected, "split at \(split)")
            if events != expected { return }
        }
    }

    @Test("a payload read in pieces of every size from 1 to 9 is unmasked with the key rotated by each piece's offset")
    func keyRotationAcrossReads() {
        let payload = pattern(count: 1000, seed: 11)
        let bytes = Self.frame(opcode: 0x2, payload: payload, key: [0x01, 0x02, 0x04, 0x08])
        for size in 1...9 {
            // The header in one read, then the payload in pieces of `size`.
            let sizes = [8] + Array(repeating: size, count: payload.count / size)
            #expect(Self.read(bytes, in: sizes).events == [.message(payload, isText: false)], "pieces of \(size)")
        }
    }

    @Test("a fragmented message with control frames between its fragments, split into two reads at every byte")
    func fragmentsWithControlFramesSplitEverywhere() {
        // Fragments of 1, 2, 3 and 5 bytes: each starts its own key at offset 0, whatever offset
        // the previous frame's key had reached.
        let bytes = Self.frame(opcode: 0x1, fin: false, payload: [0x61], key: [1, 2, 3, 4])
            + Self.frame(opcode: 0x9, payload: [0xAA, 0xBB, 0xCC], key: [5, 6, 7, 8])
            + Self.frame(opcode: 0x0, fin: false, payload: [0x62, 0x63], key: [9, 10, 11, 12])
            + Self.frame(opcode: 0xA, payload: [], key: [13, 14, 15, 16])
            + Self.frame(opcode: 0x9, payload: Array("ping".utf8) + [0], key: [17, 18, 19, 20])
            + Self.frame(opcode: 0x0, fin: false, payload: [0x64, 0x65, 0x66], key: [21, 22, 23, 24])
            + Self.frame(opcode: 0x0, payload: Array("ghijk".utf8), key: [25, 26, 27, 28])
            + Self.frame(opcode: 0x8, payload: [0x03, 0xE8, 0x6F, 0x6B], key: [29, 30, 31, 32])
        let expected: [Event] = [
            .ping([0xAA, 0xBB, 0xCC]), .pong, .ping(Array("ping".utf8) + [0]),
            .message(Array("abcdefghijk".utf8), isText: true), .close(code: 1000, reason: "ok"),
        ]
        for split in 0...bytes.count {
            #expect(Self.read(bytes, in: [split]).events == expected, "split at \(split)")
        }
        for first in 0...20 {
            // Three reads: every split of the first 20 bytes, then the rest in pieces of 3.
            let sizes = [first] + Array(repeating: 3, count: bytes.count / 3)
            #expect(Self.read(bytes, in: sizes).events == expected, "reads of \(first), then 3")
        }
    }

    @Test("random seeded chunkings of the stream give the same events", arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomChunkings(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let bytes = Self.mixedStream
        var sizes: [Int] = []
        var total = 0
        while total < bytes.count {
            // Mostly small reads (headers and keys straddle them), some large.
            let size = Bool.random(using: &random) ? Int.random(in: 1...16, using: &random) : Int.random(in: 1...40_000, using: &random)
            sizes.append(size)
            total += size
        }
        #expect(Self.read(bytes, in: sizes).events == Self.mixedEvents, "seed \(seed): \(sizes)")
    }

    // MARK: Unmasked frames

    /// Unmasked frames a client may not send, named for test output.
    static let unmasked = [
        ViolatingFrame(name: "unmasked binary frame", bytes: ServerFrame.frame(opcode: 0x2, payload: [1, 2, 3])),
        ViolatingFrame(name: "unmasked empty text frame", bytes: ServerFrame.frame(opcode: 0x1, payload: [])),
        ViolatingFrame(name: "unmasked 64-bit length", bytes: ServerFrame.frame(opcode: 0x2, payload: pattern(count: 70_000))),
        ViolatingFrame(name: "unmasked ping", bytes: ServerFrame.frame(opcode: 0x9, payload: [7])),
        ViolatingFrame(name: "unmasked close", bytes: ServerFrame.close(code: 1000)),
        ViolatingFrame(
            name: "unmasked continuation inside a message",
            bytes: frame(opcode: 0x2, fin: false, payload: [4]) + ServerFrame.frame(opcode: 0x0, payload: [5])),
    ]

    @Test("an unmasked client frame is refused with 1002; the messages before it are delivered, nothing after it is read", arguments: unmasked)
    func unmaskedFrame(_ violating: ViolatingFrame) {
        let before = Self.frame(opcode: 0x2, payload: [0xBE])
        let after = Self.frame(opcode: 0x2, payload: [0xAF]) + Self.frame(opcode: 0x8, payload: [0x03, 0xE8])
        let bytes = before + violating.bytes + after
        for sizes in [[], [before.count + 2], Array(repeating: 1, count: bytes.count)] {
            let outcome = Self.read(bytes, in: sizes)
            #expect(outcome.events == [.message([0xBE], isText: false)], "reads of \(sizes.first ?? bytes.count)")
            #expect(outcome.violation?.code == 1002, "\(String(describing: outcome.violation))")
        }
    }

    @Test("an unmasked frame is refused as soon as its second byte arrives, naming the cause")
    func unmaskedFrameAtItsSecondByte() {
        let outcome = Self.read(Array(ServerFrame.frame(opcode: 0x2, payload: [1, 2, 3]).prefix(2)))
        #expect(outcome.events.isEmpty)
        #expect(outcome.violation?.code == 1002)
        #expect(outcome.violation?.reason == "the client sent an unmasked frame")
    }

    // MARK: Protocol violations, masked

    /// The server-side reader's violations (``WebSocketFrameReaderTests/violations``) sent masked
    /// by a client, except a masked frame (which a client must send).
    static let maskedViolations = WebSocketFrameReaderTests.violations
        .filter { $0.name != "masked frame" }
        .map { ViolatingFrame(name: "masked " + $0.name, bytes: ServerFrame.masked($0.bytes)) }

    @Test("a masked frame breaking RFC 6455 is refused with 1002, and nothing after it is read", arguments: maskedViolations)
    func violation(_ violating: ViolatingFrame) {
        let before = Self.frame(opcode: 0x2, payload: [0xBE])
        let after = Self.frame(opcode: 0x2, payload: [0xAF]) + Self.frame(opcode: 0x8, payload: [0x03, 0xE8])
        let bytes = before + violating.bytes + after
        for sizes in [[], [before.count + violating.bytes.count], Array(repeating: 1, count: bytes.count)] {
            let outcome = Self.read(bytes, in: sizes)
            #expect(outcome.events == [.message([0xBE], isText: false)], "reads of \(sizes.first ?? bytes.count)")
            #expect(outcome.violation?.code == 1002, "\(String(describing: outcome.violation))")
            #expect(outcome.violation?.reason.isEmpty == false)
            #expect(outcome.violation?.reason != "the client sent an unmasked frame")
        }
    }

    @Test("the masking helper's frames read back as the unmasked originals")
    func maskingHelper() {
        #expect(Self.maskedViolations.count == WebSocketFrameReaderTests.violations.count - 1)
        let plain = ServerFrame.frame(opcode: 0x2, payload: pattern(count: 300, seed: 1))
            + ServerFrame.frame(opcode: 0x9, payload: [1, 2, 3])
        #expect(Self.read(ServerFrame.masked(plain)).events == [.message(pattern(count: 300, seed: 1), isText: false), .ping([1, 2, 3])])
    }

    // MARK: The size limit

    @Test("a masked message exactly at the limit is accepted, in one frame or in fragments")
    func exactlyAtLimit() {
        let limit = 1000
        let payload = pattern(count: limit, seed: 4)
        #expect(Self.read(Self.frame(opcode: 0x2, payload: payload), maximumMessageSize: limit).events == [.message(payload, isText: false)])
        let fragmented = Self.frame(opcode: 0x2, fin: false, payload: Array(payload[0..<401]))
            + Self.frame(opcode: 0x9, payload: [1], key: [4, 3, 2, 1])
            + Self.frame(opcode: 0x0, payload: Array(payload[401...]), key: [0xA0, 0xB0, 0xC0, 0xD0])
        #expect(Self.read(fragmented, maximumMessageSize: limit).events == [.ping([1]), .message(payload, isText: false)])
    }

    @Test("a masked header announcing one byte over the limit is refused with 1009 once its key is read, before any payload")
    func overLimitAtTheHeader() {
        let limit = 1000
        // The header and the key only: no payload byte is ever fed.
        let header = Array(Self.frame(opcode: 0x2, payload: [UInt8](repeating: 0, count: limit + 1)).prefix(8))
        let outcome = Self.read(header, maximumMessageSize: limit)
        #expect(outcome.events.isEmpty)
        #expect(outcome.violation?.code == 1009)
        #expect(outcome.violation?.isTooLarge == true)
        // Without the key's last byte the header is not complete yet.
        let waiting = Self.read(Array(header.prefix(7)), maximumMessageSize: limit)
        #expect(waiting == Outcome())
    }

    @Test("a masked continuation whose header takes the message over the limit is refused with 1009 at that header")
    func overLimitByContinuation() {
        let limit = 1000
        let bytes = Self.frame(opcode: 0x2, fin: false, payload: pattern(count: 600, seed: 1))
            + Array(Self.frame(opcode: 0x0, payload: pattern(count: 401, seed: 2)).prefix(8))
        let outcome = Self.read(bytes, maximumMessageSize: limit)
        #expect(outcome.events.isEmpty)
        #expect(outcome.violation?.code == 1009)
    }

    @Test("masked control frames do not count against the message limit")
    func controlFramesOutsideTheLimit() {
        let outcome = Self.read(Self.frame(opcode: 0x9, payload: pattern(count: 125)), maximumMessageSize: 10)
        #expect(outcome == Outcome(events: [.ping(pattern(count: 125))]))
    }
}

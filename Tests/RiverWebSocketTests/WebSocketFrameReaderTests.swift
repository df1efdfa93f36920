import River
import RiverWebSocket
import Testing

/// `WebSocketFrameReader` on its own: the frames a server may send (RFC 6455 §5), fed in pieces
/// of every size, and everything a client must refuse.
@Suite("WebSocket frame reader")
struct WebSocketFrameReaderTests {
    typealias Event = WebSocketFrameReader.Event

    /// What reading a byte stream gave: the events in order, and the violation that ended it.
    struct Outcome: Equatable {
        var events: [Event] = []
        var violation: WebSocketFrameReader.Violation?
    }

    /// Feeds `bytes` to a fresh reader (of a client's frames with `peerMasks`) in reads of the
    /// given sizes (the rest in one last read), going on after a violation to check that nothing
    /// more is read.
    static func read(
        _ bytes: [UInt8], in sizes: [Int] = [], maximumMessageSize: Int = 1 << 20, peerMasks: Bool = false
    ) -> Outcome {
        var reader = WebSocketFrameReader(maximumMessageSize: maximumMessageSize, peerMasks: peerMasks)
        var outcome = Outcome()
        var offset = 0
        for size in sizes + [bytes.count] where offset < bytes.count {
            let end = min(bytes.count, offset + size)
            bytes[offset..<end].withUnsafeBytes { piece in
                do throws(WebSocketFrameReader.Violation) {
                    try reader.read(piece) { outcome.events.append($0) }
                } catch {
                    #expect(outcome.violation == nil, "a second violation: \(error)")
                    outcome.violation = error
                }
            }
            offset = end
        }
        if outcome.violation != nil || outcome.events.last.map(Self.isClose) == true {
            #expect(reader.isDone)
        }
        return outcome
    }

    static func isClose(_ event: Event) -> Bool {
        if case .close = event { true } else { false }
    }

    // MARK: Lengths and messages

    @Test("every payload length encoding reads back exactly", arguments: [0, 1, 125, 126, 127, 65_535, 65_536, 300_000])
    func lengthEncodings(length: Int) {
        let payload = pattern(count: length, seed: UInt8(length % 251))
        let bytes = ServerFrame.frame(opcode: 0x2, payload: payload)
        // The header is the shortest encoding: 2, 4 or 10 bytes.
        let headerSize = length < 126 ? 2 : length < 65_536 ? 4 : 10
        #expect(bytes.count == headerSize + length)
        #expect(Self.read(bytes) == Outcome(events: [.message(payload, isText: false)]))
    }

    @Test("a 64-bit length just under 2^63 is checked against the limit, not refused as malformed")
    func largestLength() {
        let header: [UInt8] = [0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        let outcome = Self.read(header)
        #expect(outcome.events.isEmpty)
        #expect(outcome.violation?.code == 1009, "\(String(describing: outcome.violation))")
    }

    @Test("text and binary messages keep their kind; an empty message is still a message")
    func textAndBinary() {
        let bytes = ServerFrame.frame(opcode: 0x1, payload: Array("héllo".utf8))
            + ServerFrame.frame(opcode: 0x2, payload: [0, 1, 2])
            + ServerFrame.frame(opcode: 0x1, payload: [])
            + ServerFrame.frame(opcode: 0x2, payload: [])
        #expect(Self.read(bytes).events == [
            .message(Array("héllo".utf8), isText: true), .message([0, 1, 2], isText: false),
            .message([], isText: true), .message([], isText: false),
        ])
    }

    @Test("a fragmented message arrives whole, with the control frames between its fragments delivered first")
    func fragmentsWithInterleavedControlFrames() {
        let whole = pattern(count: 70_000, seed: 9)
        let bytes = ServerFrame.frame(opcode: 0x2, fin: false, payload: Array(whole[0..<10]))
            + ServerFrame.frame(opcode: 0x9, payload: [7, 7])
            + ServerFrame.frame(opcode: 0x0, fin: false, payload: [])
            + ServerFrame.frame(opcode: 0x0, fin: false, payload: Array(whole[10..<66_000]))
            + ServerFrame.frame(opcode: 0xA, payload: [1])
            + ServerFrame.frame(opcode: 0x9, payload: [])
            + ServerFrame.frame(opcode: 0x0, payload: Array(whole[66_000...]))
            + ServerFrame.frame(opcode: 0x2, payload: [42])
        #expect(Self.read(bytes) == Outcome(events: [
            .ping([7, 7]), .pong, .ping([]), .message(whole, isText: false), .message([42], isText: false),
        ]))
    }

    // MARK: Close frames

    @Test("a close frame with a code and reason, with a code only, and with no payload")
    func closeFrames() {
        #expect(Self.read(ServerFrame.close(code: 4000, reason: "bye")).events == [.close(code: 4000, reason: "bye")])
        #expect(Self.read(ServerFrame.close(code: 1000)).events == [.close(code: 1000, reason: "")])
        #expect(Self.read(ServerFrame.frame(opcode: 0x8, payload: [])).events == [.close(code: nil, reason: "")])
        // The largest close frame: a code and a 123-byte reason.
        let reason = String(repeating: "r", count: 123)
        #expect(Self.read(ServerFrame.close(code: 3000, reason: reason)).events == [.close(code: 3000, reason: reason)])
    }

    @Test("a text message is checked as UTF-8 when whole: a character split across fragments is accepted")
    func textSplitAcrossFragments() {
        let text = Array("été ✓ 𝄞".utf8)
        // Cut inside the 4-byte 𝄞 and inside the 2-byte é.
        let bytes = ServerFrame.frame(opcode: 0x1, fin: false, payload: Array(text[0..<1]))
            + ServerFrame.frame(opcode: 0x0, fin: false, payload: Array(text[1..<(text.count - 2)]))
            + ServerFrame.frame(opcode: 0x0, payload: Array(text[(text.count - 2)...]))
        #expect(Self.read(bytes).events == [.message(text, isText: true)])
    }

    /// Text a WebSocket peer must refuse as UTF-8 (RFC 3629): a lone continuation byte, an
    /// overlong encoding, a surrogate, a code point past U+10FFFF, and a sequence cut short at the
    /// end of the message.
    static let notUTF8: [[UInt8]] = [[0x61, 0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x61, 0xE2, 0x9C]]

    @Test("a text message that is not UTF-8 closes with 1007; a binary message with the same bytes is delivered", arguments: notUTF8)
    func textNotUTF8(_ payload: [UInt8]) {
        let outcome = Self.read(ServerFrame.frame(opcode: 0x1, payload: payload) + ServerFrame.close(code: 1000))
        #expect(outcome.events.isEmpty)
        #expect(outcome.violation?.code == 1007, "\(String(describing: outcome.violation))")
        #expect(outcome.violation?.isTooLarge == false)
        #expect(Self.read(ServerFrame.frame(opcode: 0x2, payload: payload)).events == [.message(payload, isText: false)])
    }

    @Test("a close frame whose reason is not UTF-8 closes with 1007", arguments: notUTF8)
    func closeReasonNotUTF8(_ reason: [UInt8]) {
        let outcome = Self.read(ServerFrame.frame(opcode: 0x8, payload: [0x03, 0xE8] + reason))
        #expect(outcome.events.isEmpty)
        #expect(outcome.violation?.code == 1007, "\(String(describing: outcome.violation))")
    }

    @Test("nothing after a close frame is read, in the same read or a later one")
    func nothingAfterClose() {
        let bytes = ServerFrame.close(code: 1001) + ServerFrame.frame(opcode: 0x2, payload: [1]) + [0xFF, 0xFF]
        #expect(Self.read(bytes) == Outcome(events: [.close(code: 1001, reason: "")]))
        #expect(Self.read(bytes, in: [4]) == Outcome(events: [.close(code: 1001, reason: "")]))
    }

    @Test("every valid close code range is accepted", arguments: [1000, 1001, 1002, 1003, 1007, 1010, 1011, 1014, 3000, 4999] as [UInt16])
    func validCloseCodes(code: UInt16) {
        #expect(Self.read(ServerFrame.close(code: code)).events == [.close(code: code, reason: "")])
    }

    // MARK: Reads of any size

    /// A stream with every kind of frame and every length encoding, ending with a close.
    static let mixedStream: [UInt8] =
        ServerFrame.frame(opcode: 0x1, payload: Array("first".utf8))
        + ServerFrame.frame(opcode: 0x2, fin: false, payload: pattern(count: 126, seed: 1))
        + ServerFrame.frame(opcode: 0x9, payload: [1, 2, 3])
        + ServerFrame.frame(opcode: 0x0, fin: false, payload: [])
        + ServerFrame.frame(opcode: 0x0, payload: pattern(count: 65_536, seed: 2))
        + ServerFrame.frame(opcode: 0xA, payload: [])
        + ServerFrame.frame(opcode: 0x2, payload: pattern(count: 65_535, seed: 3))
        + ServerFrame.frame(opcode: 0x1, payload: [])
        + ServerFrame.close(code: 4001, reason: "done")

    // Computed, not stored: LeakSanitizer cannot trace a static array of enums with payloads.
    static var mixedEvents: [Event] {
        [
            .message(Array("first".utf8), isText: true),
            .ping([1, 2, 3]),
            .message(pattern(count: 126, seed: 1) + pattern(count: 65_536, seed: 2), isText: false),
            .pong,
            .message(pattern(count: 65_535, seed: 3), isText: false),
            .message([], isText: true),
            .close(code: 4001, reason: "done"),
        ]
    }

    @Test("one stream read in one piece, one byte at a time, and in two pieces split at every boundary of its frames gives the same events")
    func everySplit() {
        let bytes = Self.mixedStream
        // Built once: building the expected events again for each split made this test hold a
        // thread of the shared pool for ~20 s in a debug build, starving other tests' timers.
        let expected = Self.mixedEvents
        #expect(Self.read(bytes).events == expected)
        #expect(Self.read(bytes, in: Array(repeating: 1, count: bytes.count)).events == expected)
        // Splitting inside the big payloads only repeats the copy path; every header byte and the
        // edges of each payload are where a split can go wrong, so split there (and everywhere
        // in the short frames).
        var splits = Set<Int>()
        for offset in 0...bytes.count where offset < 200 || bytes.count - offset < 200 { splits.insert(offset) }
        var offset = 0
        for (length, headerSize) in [(5, 2), (126, 4), (3, 2), (0, 2), (65_536, 10), (0, 2), (65_535, 4), (0, 2)] {
            for near in (offset - 2)...(offset + headerSize + 2) where (0...bytes.count).contains(near) { splits.insert(near) }
            offset += headerSize + length
            for near in (offset - 2)...(offset + 2) where (0...bytes.count).contains(near) { splits.insert(near) }
        }
        for split in splits.sorted() {
            let events = Self.read(bytes, in: [split]).events
            #expect(events == expected, "split at \(split)")
            if events != expected { return }
        }
    }

    @Test("a small stream split into two reads at every byte gives the same events")
    func everySplitOfSmallFrames() {
        let bytes = ServerFrame.frame(opcode: 0x2, fin: false, payload: [1, 2])
            + ServerFrame.frame(opcode: 0x9, payload: [9])
            + ServerFrame.frame(opcode: 0x0, payload: [3])
            + ServerFrame.frame(opcode: 0x1, payload: Array(repeating: 65, count: 130))
            + ServerFrame.close(code: 1000, reason: "ok")
        let expected: [Event] = [
            .ping([9]), .message([1, 2, 3], isText: false), .message(Array(repeating: 65, count: 130), isText: true),
            .close(code: 1000, reason: "ok"),
        ]
        for split in 0...bytes.count {
            #expect(Self.read(bytes, in: [split]).events == expected, "split at \(split)")
        }
    }

    @Test("random seeded chunkings of the stream give the same events", arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomChunkings(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let bytes = Self.mixedStream
        var sizes: [Int] = []
        var total = 0
        while total < bytes.count {
            // Mostly small reads (headers straddle them), some large.
            let size = Bool.random(using: &random) ? Int.random(in: 1...16, using: &random) : Int.random(in: 1...40_000, using: &random)
            sizes.append(size)
            total += size
        }
        #expect(Self.read(bytes, in: sizes).events == Self.mixedEvents, "seed \(seed): \(sizes)")
    }

    // MARK: The size limit

    @Test("a message exactly at the limit is accepted, in one frame or in fragments")
    func exactlyAtLimit() {
        let limit = 1000
        let payload = pattern(count: limit, seed: 4)
        #expect(Self.read(ServerFrame.frame(opcode: 0x2, payload: payload), maximumMessageSize: limit).events
            == [.message(payload, isText: false)])
        let fragmented = ServerFrame.frame(opcode: 0x2, fin: false, payload: Array(payload[0..<400]))
            + ServerFrame.frame(opcode: 0x0, payload: Array(payload[400...]))
        #expect(Self.read(fragmented, maximumMessageSize: limit).events == [.message(payload, isText: false)])
    }

    @Test("a header announcing one byte over the limit is refused with 1009 before any payload arrives")
    func overLimitAtTheHeader() {
        let limit = 1000
        // Only the header: no payload byte is ever fed.
        let header = Array(ServerFrame.frame(opcode: 0x2, payload: [UInt8](repeating: 0, count: limit + 1)).prefix(4))
        let outcome = Self.read(header, maximumMessageSize: limit)
        #expect(outcome.events.isEmpty)
        #expect(outcome.violation?.code == 1009)
        #expect(outcome.violation?.isTooLarge == true)
    }

    @Test("a continuation whose header takes the message over the limit is refused with 1009 at that header")
    func overLimitByContinuation() {
        let limit = 1000
        let bytes = ServerFrame.frame(opcode: 0x2, fin: false, payload: pattern(count: 600, seed: 1))
            + Array(ServerFrame.frame(opcode: 0x0, payload: pattern(count: 401, seed: 2)).prefix(4))
        let outcome = Self.read(bytes, maximumMessageSize: limit)
        #expect(outcome.events.isEmpty)
        #expect(outcome.violation?.code == 1009)
    }

    @Test("control frames do not count against the message limit")
    func controlFramesOutsideTheLimit() {
        let outcome = Self.read(ServerFrame.frame(opcode: 0x9, payload: pattern(count: 125)), maximumMessageSize: 10)
        #expect(outcome == Outcome(events: [.ping(pattern(count: 125))]))
    }

    // MARK: Protocol violations

    static let violations: [ViolatingFrame] = [
        ViolatingFrame(name: "masked frame", bytes: ServerFrame.frame(opcode: 0x2, payload: [1, 2, 3], maskKey: [1, 2, 3, 4])),
        ViolatingFrame(name: "RSV1 set", bytes: ServerFrame.frame(opcode: 0x2, payload: [1], reserved: 0x40)),
        ViolatingFrame(name: "RSV2 set", bytes: ServerFrame.frame(opcode: 0x1, payload: [1], reserved: 0x20)),
        ViolatingFrame(name: "RSV3 set", bytes: ServerFrame.frame(opcode: 0x9, payload: [], reserved: 0x10)),
        ViolatingFrame(name: "unknown data opcode 3", bytes: ServerFrame.frame(opcode: 0x3, payload: [1])),
        ViolatingFrame(name: "unknown control opcode 0xB", bytes: ServerFrame.frame(opcode: 0xB, payload: [])),
        ViolatingFrame(name: "fragmented ping", bytes: ServerFrame.frame(opcode: 0x9, fin: false, payload: [1])),
        ViolatingFrame(name: "fragmented close", bytes: ServerFrame.frame(opcode: 0x8, fin: false, payload: [0x03, 0xE8])),
        ViolatingFrame(name: "ping with 126 bytes", bytes: ServerFrame.frame(opcode: 0x9, payload: pattern(count: 126))),
        ViolatingFrame(name: "continuation outside a message", bytes: ServerFrame.frame(opcode: 0x0, payload: [1])),
        ViolatingFrame(
            name: "new message inside a fragmented one",
            bytes: ServerFrame.frame(opcode: 0x2, fin: false, payload: [1]) + ServerFrame.frame(opcode: 0x1, payload: [2])),
        ViolatingFrame(name: "close code 999", bytes: ServerFrame.close(code: 999)),
        ViolatingFrame(name: "close code 1004 (reserved)", bytes: ServerFrame.close(code: 1004)),
        ViolatingFrame(name: "close code 1005 (never sent)", bytes: ServerFrame.close(code: 1005)),
        ViolatingFrame(name: "close code 1006 (never sent)", bytes: ServerFrame.close(code: 1006)),
        ViolatingFrame(name: "close code 1015 (never sent)", bytes: ServerFrame.close(code: 1015)),
        ViolatingFrame(name: "close code 2999", bytes: ServerFrame.close(code: 2999)),
        ViolatingFrame(name: "close code 5000", bytes: ServerFrame.close(code: 5000)),
        ViolatingFrame(name: "1-byte close payload", bytes: ServerFrame.frame(opcode: 0x8, payload: [0x03])),
        ViolatingFrame(name: "64-bit length with its top bit set", bytes: [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 0xAA]),
    ]

    @Test("a frame breaking RFC 6455 is refused with 1002, and nothing after it is read", arguments: violations)
    func violation(_ violating: ViolatingFrame) {
        // A valid message before it is delivered; the one after it is not, whether it comes in
        // the same read or a later one.
        let before = ServerFrame.frame(opcode: 0x2, payload: [0xBE])
        let after = ServerFrame.frame(opcode: 0x2, payload: [0xAF]) + ServerFrame.close(code: 1000)
        let bytes = before + violating.bytes + after
        for sizes in [[], [before.count + violating.bytes.count], Array(repeating: 1, count: bytes.count)] {
            let outcome = Self.read(bytes, in: sizes)
            #expect(outcome.events == [.message([0xBE], isText: false)], "reads of \(sizes.first ?? bytes.count)")
            #expect(outcome.violation?.code == 1002, "\(String(describing: outcome.violation))")
            #expect(outcome.violation?.isTooLarge == false)
            #expect(outcome.violation?.reason.isEmpty == false)
        }
    }
}

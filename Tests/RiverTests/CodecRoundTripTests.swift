import Foundation
import River
import Testing

/// Values and messages survive encode → decode through both codecs.
@Suite("Codec: round trips")
struct CodecRoundTripTests {
    static let edgeValues: [RiverValue] = [
        .null, true, false,
        .int(0), .int(1), .int(-1), .int(127), .int(128), .int(-32), .int(-33), .int(255), .int(256),
        .int(65535), .int(65536), .int(Int64(Int32.max)), .int(Int64(Int32.min)), .int(4_294_967_296),
        .int(Int64.max), .int(Int64.min), .int(1 << 53), .int((1 << 53) + 1), .int((1 << 53) - 1), .int(-(1 << 53) - 1),
        .double(0.5), .double(-0.0), .double(0.0), .double(1.0), .double(-2.0), .double(0.1), .double(1e-7),
        .double(1e21), .double(1e300), .double(-1e-300), .double(.leastNonzeroMagnitude), .double(.greatestFiniteMagnitude),
        .double(.leastNormalMagnitude), .double(123_456_789.123_456_78), .double(9_007_199_254_740_994),
        .double(3.141592653589793), .double(-1.5e-10),
        "", "a", "héllo", "日本語", "emoji 🎉👩‍👩‍👧", "quote \" backslash \\ slash /", "controls \u{0}\u{1}\u{1F}\n\r\t\u{8}\u{C}",
        "\u{7F}\u{80}\u{FFFF}\u{10FFFF}", "\u{2028}\u{2029}", .string(String(repeating: "x", count: 70_000)),
        .bytes([]), .bytes([0]), .bytes([0, 1, 2, 255]), .bytes(Array(0...255)), .bytes([UInt8](repeating: 7, count: 70_000)),
        .bigInt("0"), .bigInt("-1"), .bigInt("9007199254740991"), .bigInt("-9007199254740991"),
        .bigInt("9007199254740992"), .bigInt("123456789012345678901234567890"), .bigInt("-99999999999999999999999"),
        .date(Date(timeIntervalSince1970: 0)), .date(Date(timeIntervalSince1970: 1_700_000_000.123)),
        .date(Date(timeIntervalSince1970: -1_000_000.5)), .date(Date(timeIntervalSince1970: 5_000_000_000)),
        .date(Date(timeIntervalSince1970: 20_000_000_000.999)),
        [], [[]], [.null, 1, "x"], [:], ["": ""], ["a": [:], "b": [[], [:]]],
        ["$t": 1], ["$b": true], ["$t": "AA==", "other": 1], ["nested": ["$t": .bytes([1])]],
    ]

    @Test("edge values", arguments: NamedCodec.all, edgeValues)
    func edgeValue(_ codec: NamedCodec, _ value: RiverValue) throws {
        let decoded = try codec.decodeValue(codec.encodeValue(value))
        #expect(decoded == codec.expectedRoundTrip(value))
    }

    @Test("edge values as message payloads", arguments: NamedCodec.all)
    func edgePayloads(_ codec: NamedCodec) throws {
        for value in Self.edgeValues {
            let message = Self.sampleMessage(payload: value)
            let decoded = try codec.codec.decode(codec.codec.encode(message))
            var expected = message
            expected.payload = codec.expectedRoundTrip(value)
            #expect(decoded == expected)
        }
    }

    static func sampleMessage(payload: RiverValue) -> TransportMessage {
        TransportMessage(
            id: "abc123DEF456", from: "client-1", to: "SERVER", seq: 3, ack: 2, streamId: "stream12abcd",
            controlFlags: [.streamOpen, .streamClosed], payload: payload, serviceName: "test", procedureName: "add",
            tracing: .empty)
    }

    static let messages: [TransportMessage] = [
        sampleMessage(payload: ["n": 1]),
        TransportMessage(
            id: "m", from: "SERVER", to: "c", seq: 0, ack: 0, streamId: "heartbeat", controlFlags: .ack,
            payload: ControlPayload.ack.value),
        TransportMessage(
            id: "m", from: "c", to: "SERVER", seq: 0, ack: 0, streamId: "s", controlFlags: [],
            payload: ControlPayload.handshakeRequest(
                HandshakeRequest(sessionId: "session-x", expectedSessionState: .init(nextExpectedSeq: 4, nextSentSeq: 9),
                    metadata: ["token": "t"])).value,
            tracing: TracingContext(traceparent: "00-abc-def-01", tracestate: "k=v")),
        TransportMessage(
            id: "m", from: "SERVER", to: "c", seq: Int(Int32.max), ack: Int(Int64.max), streamId: "s", controlFlags: .streamCancel,
            payload: ResultEnvelope.error(ErrorPayload(code: "CANCEL", message: "cancelled by client")).value),
        TransportMessage(
            id: "", from: "", to: "", seq: 0, ack: 0, streamId: "", controlFlags: ControlFlags(rawValue: -1), payload: .null,
            procedureName: "only procedure"),
    ]

    @Test("messages", arguments: NamedCodec.all, messages)
    func message(_ codec: NamedCodec, _ message: TransportMessage) throws {
        #expect(try codec.codec.decode(codec.codec.encode(message)) == message)
    }

    @Test("envelope key order follows the reference", arguments: NamedCodec.all)
    func keyOrder(_ codec: NamedCodec) throws {
        func keys(_ message: TransportMessage) throws -> [String] {
            let bytes = try codec.codec.encode(message)
            let text = String(decoding: bytes, as: UTF8.self)
            let all = ["id", "from", "to", "seq", "ack", "streamId", "controlFlags", "payload", "serviceName", "procedureName", "tracing"]
            // Position of each top-level key's first occurrence as a whole key.
            let located: [(String, String.Index)] = all.compactMap { key in
                let needle = codec.codec is JSONCodec ? "\"\(key)\":" : key
                return text.range(of: needle).map { (key, $0.lowerBound) }
            }
            return located.sorted { $0.1 < $1.1 }.map(\.0)
        }
        let open = Self.messages[0]
        #expect(try keys(open) == ["streamId", "serviceName", "procedureName", "tracing", "payload", "controlFlags", "id", "to", "from", "seq", "ack"])
        let handshake = Self.messages[2]
        #expect(try keys(handshake) == ["id", "from", "to", "seq", "ack", "streamId", "controlFlags", "tracing", "payload"])
        let heartbeat = Self.messages[1]
        #expect(try keys(heartbeat) == ["streamId", "controlFlags", "payload", "id", "to", "from", "seq", "ack"])
    }

    @Test func jsonOmitsNilOptionalsAndWritesMarkers() throws {
        var message = Self.messages[1]
        message.payload = ["data": .bytes([0, 1, 2, 255]), "empty": .bytes([]), "big": .bigInt("123456789012345678901")]
        let text = String(decoding: try JSONCodec().encode(message), as: UTF8.self)
        #expect(text == #"{"streamId":"heartbeat","controlFlags":1,"payload":{"big":{"$b":"123456789012345678901"},"data":{"$t":"AAEC/w=="},"empty":{"$t":""}},"id":"m","to":"c","from":"SERVER","seq":0,"ack":0}"#)
    }

    @Test func jsonDatesAreISOText() throws {
        let date = Date(timeIntervalSince1970: 1_700_000_000.123)
        let text = String(decoding: try JSONCodec().encodeValue(.date(date)), as: UTF8.self)
        #expect(text == #""2023-11-14T22:13:20.123Z""#)
        #expect(String(decoding: try JSONCodec().encodeValue(.date(Date(timeIntervalSince1970: -62_198_755_200))), as: UTF8.self)
            == #""-000001-01-01T00:00:00.000Z""#)
    }

    @Test func jsonNumberForms() throws {
        let codec = JSONCodec()
        func decode(_ text: String) throws -> RiverValue { try codec.decodeValue(Array(text.utf8)) }
        #expect(try decode("1") == .int(1))
        #expect(try decode("-0") == .int(0))
        #expect(try decode("1.0") == .double(1))
        #expect(try decode("1e2") == .double(100))
        #expect(try decode("9223372036854775807") == .int(.max))
        #expect(try decode("-9223372036854775808") == .int(.min))
        #expect(try decode("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try decode("123456789012345678901234567890") == .double(1.2345678901234568e29))
        #expect(try decode("0.30000000000000004") == .double(0.1 + 0.2))
        #expect(try decode("2.2250738585072014e-308") == .double(.leastNormalMagnitude))
        #expect(try decode(" \n\t{ \"a\" : [ 1 , 2 ] } \r\n") == ["a": [1, 2]])
        #expect(try decode(#""\u00e9\ud83c\udf89\/""#) == "é🎉/")
        #expect(try decode(#""\ud800x""#) == "\u{FFFD}x")
        #expect(String(decoding: try codec.encodeValue(.double(2)), as: UTF8.self) == "2.0")
        #expect(String(decoding: try codec.encodeValue("\u{1}\u{1F}é"), as: UTF8.self) == "\"\\u0001\\u001fé\"")
    }

    @Test func msgpackFormats() throws {
        let codec = MessagePackCodec()
        #expect(try codec.encodeValue(.bytes([0, 1, 2, 255])) == [0xC4, 4, 0, 1, 2, 255])
        #expect(try codec.encodeValue(.double(1.5)) == [0xCB, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0])
        #expect(try codec.encodeValue("a") == [0xA1, 0x61])
        #expect(try codec.encodeValue(.int(200)) == [0xCC, 200])
        #expect(try codec.encodeValue(.int(-1)) == [0xFF])
        #expect(try codec.encodeValue(.date(Date(timeIntervalSince1970: 1))) == [0xD6, 0xFF, 0, 0, 0, 1])
        // Big integers: ext 0 whose body is msgpack of the number, or of its decimal text.
        #expect(try codec.encodeValue(.bigInt("5")) == [0xD4, 0x00, 0x05])
        #expect(try codec.encodeValue(.bigInt("9007199254740992")) == [0xC7, 17, 0x00, 0xB0] + Array("9007199254740992".utf8))
        // Unsigned 64-bit beyond Int64 decodes exactly, as a big integer.
        #expect(try codec.decodeValue([0xCF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == .bigInt("18446744073709551615"))
        // float32 and all three timestamp sizes decode.
        #expect(try codec.decodeValue([0xCA, 0x3F, 0xC0, 0, 0]) == .double(1.5))
        let ts64: [UInt8] = [0xD7, 0xFF] + withUnsafeBytes(of: (UInt64(500_000_000) << 34 | 2).bigEndian, Array.init)
        #expect(try codec.decodeValue(ts64) == .date(Date(timeIntervalSince1970: 2.5)))
        let ts96: [UInt8] = [0xC7, 12, 0xFF] + withUnsafeBytes(of: UInt32(0).bigEndian, Array.init)
            + withUnsafeBytes(of: Int64(-10).bigEndian, Array.init)
        #expect(try codec.decodeValue(ts96) == .date(Date(timeIntervalSince1970: -10)))
    }

    /// Random values from a seeded generator (reproducible failures: the seed is the argument).
    @Test("random values", arguments: NamedCodec.all, [UInt64(1), 2, 3, 42, 2024])
    func randomValues(_ codec: NamedCodec, _ seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<200 {
            let value = RandomValues.value(using: &rng, depth: 0)
            let decoded = try codec.decodeValue(codec.encodeValue(value))
            #expect(decoded == codec.expectedRoundTrip(value))
            let message = Self.sampleMessage(payload: value)
            var expected = message
            expected.payload = codec.expectedRoundTrip(value)
            #expect(try codec.codec.decode(codec.codec.encode(message)) == expected)
        }
    }

    @Test("codecs are safe to share across threads", arguments: NamedCodec.all)
    func concurrentUse(_ codec: NamedCodec) async throws {
        let message = Self.sampleMessage(payload: ["n": 1, "list": [1, 2, "three"], "bytes": .bytes([1, 2, 3])])
        let bytes = try codec.codec.encode(message)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<500 {
                        let decoded = try codec.codec.decode(bytes)
                        guard decoded == message else { throw CodecFixtures.Failure(description: "mismatch") }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// Generates random ``RiverValue``s that every codec can represent exactly.
enum RandomValues {
    static let alphabet: [Character] = Array("abcXYZ019 _-\"\\/\n\t\u{1}é日🎉")

    static func string(using rng: inout SplitMix64) -> String {
        let count = Int(rng.next() % 12)
        return String((0..<count).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }

    static func key(using rng: inout SplitMix64) -> String {
        // `$t`/`$b` as a sole key would decode as bytes/bigint in JSON: keep them out.
        let s = string(using: &rng)
        return s == "$t" || s == "$b" ? "k" + s : s
    }

    static func value(using rng: inout SplitMix64, depth: Int) -> RiverValue {
        let maxKind: UInt64 = depth >= 4 ? 9 : 11
        switch rng.next() % maxKind {
        case 0: return .null
        case 1: return .bool(rng.next() & 1 == 0)
        case 2:
            switch rng.next() % 4 {
            case 0: return .int(Int64(bitPattern: rng.next()))
            case 1: return .int(Int64(rng.next() % 256) - 128)
            case 2: return .int(Int64(rng.next() % 70_000))
            default: return .int(-Int64(rng.next() % (1 << 40)))
            }
        case 3:
            var d: Double
            repeat { d = Double(bitPattern: rng.next()) } while !d.isFinite
            return .double(rng.next() & 1 == 0 ? d : Double(Int64(rng.next() % 1_000_000)) / 1000)
        case 4: return .string(string(using: &rng))
        case 5: return .bytes((0..<Int(rng.next() % 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        case 6:
            let digits = (0..<Int(1 + rng.next() % 30)).map { _ in String(rng.next() % 10) }.joined()
            let trimmed = String(digits.drop { $0 == "0" })
            let body = trimmed.isEmpty ? "0" : trimmed
            return .bigInt(body != "0" && rng.next() & 1 == 0 ? "-" + body : body)
        case 7:
            let ms = Int64(rng.next() % 8_000_000_000_000) - 1_000_000_000_000
            return .date(Date(timeIntervalSince1970: Double(ms) / 1000))
        case 8: return .string("")
        case 9:
            return .array((0..<Int(rng.next() % 5)).map { _ in value(using: &rng, depth: depth + 1) })
        default:
            var fields: [String: RiverValue] = [:]
            for _ in 0..<Int(rng.next() % 5) { fields[key(using: &rng)] = value(using: &rng, depth: depth + 1) }
            return .object(fields)
        }
    }
}

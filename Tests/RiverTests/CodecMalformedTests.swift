import Foundation
import River
import Testing

/// Hostile or broken frames produce a ``RiverCodecError`` (never a crash or a huge allocation).
@Suite("Codec: malformed input")
struct CodecMalformedTests {
    static let validFields: [(String, RiverValue)] = [
        ("id", "abc"), ("from", "client"), ("to", "SERVER"), ("seq", 0), ("ack", 0),
        ("streamId", "s1"), ("controlFlags", 2), ("payload", ["n": 1]),
    ]

    /// An envelope object built from `fields`, encoded by the codec's value encoder.
    static func frame(_ codec: NamedCodec, _ fields: [(String, RiverValue)]) throws -> [UInt8] {
        try codec.encodeValue(.object(Dictionary(fields, uniquingKeysWith: { _, last in last })))
    }

    static func expectError(_ codec: NamedCodec, _ bytes: [UInt8], mentioning text: String? = nil,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let message = try codec.codec.decode(bytes)
            Issue.record("decoded \(message) from malformed input", sourceLocation: sourceLocation)
        } catch {
            if let text {
                #expect(error.message.contains(text), "\(error.message) should mention \(text)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("a well-formed envelope decodes, with unknown keys ignored", arguments: NamedCodec.all)
    func valid(_ codec: NamedCodec) throws {
        let message = try codec.codec.decode(Self.frame(codec, Self.validFields + [("extra", [1, 2])]))
        #expect(message.streamId == "s1")
        #expect(message.controlFlags == .streamOpen)
        #expect(message.tracing == nil)
    }

    static let requiredKeys = ["id", "from", "to", "seq", "ack", "streamId", "controlFlags", "payload"]

    @Test("missing required field", arguments: NamedCodec.all, requiredKeys)
    func missing(_ codec: NamedCodec, _ key: String) throws {
        Self.expectError(codec, try Self.frame(codec, Self.validFields.filter { $0.0 != key }), mentioning: "'\(key)'")
    }

    static let wrongTypes: [(String, RiverValue)] = [
        ("id", 1), ("from", .null), ("to", true), ("seq", "0"), ("seq", -1), ("seq", 1.5), ("ack", [:]),
        ("streamId", .bytes([1])), ("controlFlags", "2"), ("serviceName", .null), ("procedureName", .null),
        ("serviceName", 3), ("tracing", .null), ("tracing", "x"), ("tracing", ["traceparent": ""]),
        ("tracing", ["traceparent": "", "tracestate": .null]),
    ]

    @Test("wrong-typed or null field", arguments: NamedCodec.all, wrongTypes)
    func wrongType(_ codec: NamedCodec, _ field: (String, RiverValue)) throws {
        let key = field.0.split(separator: ".").first.map(String.init) ?? field.0
        Self.expectError(codec, try Self.frame(codec, Self.validFields + [field]), mentioning: key)
    }

    @Test("msgpack: a seq beyond Int.max (uint64) is refused by name")
    func hugeSeq() throws {
        let codec = NamedCodec.msgpack
        var fields = Self.validFields
        fields.removeAll { $0.0 == "seq" }
        let bytes = try Self.frame(codec, fields + [("seq", 127)])
        // `a3 's' 'e' 'q' 7f` -> `a3 's' 'e' 'q' cf ff ff ff ff ff ff ff ff`.
        let marker: [UInt8] = [0xA3, 0x73, 0x65, 0x71, 0x7F]
        guard let start = (0...(bytes.count - marker.count)).first(where: { Array(bytes[$0..<$0 + marker.count]) == marker }) else {
            Issue.record("seq not found in the frame")
            return
        }
        var huge = Array(bytes[..<(start + 4)])
        huge += [0xCF] + [UInt8](repeating: 0xFF, count: 8)
        huge += bytes[(start + marker.count)...]
        Self.expectError(codec, huge, mentioning: "'seq'")
    }

    @Test("a message that is not an object", arguments: NamedCodec.all, [RiverValue.null, 1, "x", [1, 2]])
    func notAnObject(_ codec: NamedCodec, _ value: RiverValue) throws {
        Self.expectError(codec, try codec.encodeValue(value))
    }

    @Test("empty and garbage input", arguments: NamedCodec.all)
    func garbage(_ codec: NamedCodec) {
        Self.expectError(codec, [])
        Self.expectError(codec, [0xC1])
        Self.expectError(codec, [0xFF, 0xFE, 0x00, 0x13, 0x37])
        var rng = SplitMix64(seed: 7)
        for length in 1..<200 {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? codec.codec.decode(bytes)  // must not crash
        }
    }

    @Test("every truncation of a valid frame is an error", arguments: NamedCodec.all)
    func truncated(_ codec: NamedCodec) throws {
        let bytes = try codec.codec.encode(CodecRoundTripTests.sampleMessage(payload: ["n": 1, "b": .bytes([1, 2, 3])]))
        for length in 0..<bytes.count {
            Self.expectError(codec, Array(bytes[0..<length]))
        }
    }

    @Test("random corruption never crashes", arguments: NamedCodec.all)
    func corruption(_ codec: NamedCodec) throws {
        let bytes = try codec.codec.encode(CodecRoundTripTests.sampleMessage(payload: ["n": 1, "l": [1.5, "x", .bytes([9])]]))
        var rng = SplitMix64(seed: 99)
        for _ in 0..<2000 {
            var copy = bytes
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                copy[Int(rng.next() % UInt64(copy.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            _ = try? codec.codec.decode(copy)
        }
    }

    @Test("trailing bytes", arguments: NamedCodec.all)
    func trailing(_ codec: NamedCodec) throws {
        let bytes = try codec.codec.encode(CodecRoundTripTests.sampleMessage(payload: 1))
        Self.expectError(codec, bytes + (codec.codec is JSONCodec ? Array(" x".utf8) : [0xC0]), mentioning: "trailing")
    }

    @Test("deep nesting", arguments: NamedCodec.all)
    func deepNesting(_ codec: NamedCodec) throws {
        var value: RiverValue = 1
        for _ in 0..<600 { value = [value] }
        let message = CodecRoundTripTests.sampleMessage(payload: value)
        #expect(throws: RiverCodecError.self) { try codec.codec.encode(message) }
        // Hand-made deep frames.
        if codec.codec is JSONCodec {
            let text = #"{"payload":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
            Self.expectError(codec, Array(text.utf8), mentioning: "nesting")
        } else {
            let frame: [UInt8] = [0x81, 0xA7] + Array("payload".utf8) + [UInt8](repeating: 0x91, count: 100_000) + [0x01]
            Self.expectError(codec, frame, mentioning: "nesting")
        }
    }

    @Test("nesting within the limit works", arguments: NamedCodec.all)
    func nestingWithinLimit(_ codec: NamedCodec) throws {
        var value: RiverValue = 1
        // msgpack-c's parser stack holds 32 containers: the envelope map plus 31 levels.
        let limit = codec.codec is JSONCodec ? 511 : 31
        for _ in 0..<limit { value = ["a": value] }
        let message = CodecRoundTripTests.sampleMessage(payload: value)
        #expect(try codec.codec.decode(codec.codec.encode(message)) == message)
        let tooDeep = CodecRoundTripTests.sampleMessage(payload: ["a": value])
        #expect(throws: RiverCodecError.self) { try codec.codec.encode(tooDeep) }
    }

    @Test func msgpackHugeHeaders() {
        let codec = NamedCodec.msgpack
        // array32 / map32 / str32 / bin32 / ext32 headers claiming ~4 billion elements or bytes.
        Self.expectError(codec, [0xDD, 0xFF, 0xFF, 0xFF, 0xFF], mentioning: "claims")
        Self.expectError(codec, [0xDF, 0xFF, 0xFF, 0xFF, 0xFF], mentioning: "claims")
        Self.expectError(codec, [0xDB, 0xFF, 0xFF, 0xFF, 0xFF], mentioning: "truncated")
        Self.expectError(codec, [0xC6, 0xFF, 0xFF, 0xFF, 0xFF], mentioning: "truncated")
        Self.expectError(codec, [0xC9, 0xFF, 0xFF, 0xFF, 0xFF, 0x00], mentioning: "truncated")
        // Nested inside a valid-looking envelope.
        let frame: [UInt8] = [0x81, 0xA7] + Array("payload".utf8) + [0xDD, 0xFF, 0xFF, 0xFF, 0xF0, 0x01, 0x02]
        Self.expectError(codec, frame, mentioning: "claims")
    }

    @Test func msgpackOtherErrors() {
        let codec = NamedCodec.msgpack
        // Map with a non-string key.
        Self.expectError(codec, [0x81, 0x01, 0x02], mentioning: "key")
        // Invalid UTF-8 in a str.
        Self.expectError(codec, [0x81, 0xA2, 0xC3, 0x28, 0x01], mentioning: "UTF-8")
        // Unknown extension type.
        Self.expectError(codec, [0x81, 0xA7] + Array("payload".utf8) + [0xD4, 0x05, 0x00], mentioning: "extension")
        // Timestamp with a bad size.
        Self.expectError(codec, [0x81, 0xA7] + Array("payload".utf8) + [0xD5, 0xFF, 0x00, 0x00], mentioning: "timestamp")
    }

    @Test func jsonSpecificErrors() throws {
        let codec = NamedCodec.json
        func frame(_ payload: String) -> [UInt8] {
            Array(#"{"id":"a","from":"b","to":"c","seq":0,"ack":0,"streamId":"s","controlFlags":0,"payload":"#.utf8)
                + Array(payload.utf8) + [UInt8(ascii: "}")]
        }
        _ = try codec.codec.decode(frame("1"))
        Self.expectError(codec, frame(#"{"$t":"not base64!"}"#), mentioning: "base64")
        Self.expectError(codec, frame(#"{"$t":"AAAAA"}"#), mentioning: "base64")
        Self.expectError(codec, frame(#"{"$t":"A=AA"}"#), mentioning: "base64")
        Self.expectError(codec, frame(#"{"$b":"12x"}"#), mentioning: "big integer")
        Self.expectError(codec, frame("[1,]"))
        Self.expectError(codec, frame("{\"a\":1,}"))
        Self.expectError(codec, frame("01"))
        Self.expectError(codec, frame("1."))
        Self.expectError(codec, frame("-"))
        Self.expectError(codec, frame("1e"))
        Self.expectError(codec, frame("NaN"))
        Self.expectError(codec, frame("Infinity"))
        Self.expectError(codec, frame("tru"))
        Self.expectError(codec, frame("'x'"))
        Self.expectError(codec, frame("\"tab\tinside\""), mentioning: "control")
        Self.expectError(codec, frame(#""\x""#), mentioning: "escape")
        Self.expectError(codec, frame(#""\u12G4""#), mentioning: "escape")
        Self.expectError(codec, frame(#""unterminated"#))
        Self.expectError(codec, frame("\"a\"") + Array("garbage".utf8), mentioning: "trailing")
        // Invalid UTF-8: a lone continuation byte, an overlong encoding, a truncated sequence.
        Self.expectError(codec, frame("\"") + [0x80] + Array("\"".utf8), mentioning: "UTF-8")
        Self.expectError(codec, frame("\"") + [0xC0, 0xAF] + Array("\"".utf8), mentioning: "UTF-8")
        Self.expectError(codec, frame("\"\\n") + [0xE2, 0x82] + Array("\"".utf8), mentioning: "UTF-8")
        // Bytes outside strings.
        Self.expectError(codec, [0xEF, 0xBB, 0xBF] + frame("1"))
    }

    @Test func encodeErrors() {
        for value: RiverValue in [.double(.nan), .double(.infinity), .double(-.infinity)] {
            #expect(throws: RiverCodecError.self) { try JSONCodec().encode(CodecRoundTripTests.sampleMessage(payload: value)) }
        }
        for codec in NamedCodec.all {
            #expect(throws: RiverCodecError.self) { try codec.codec.encode(CodecRoundTripTests.sampleMessage(payload: .bigInt("1.5"))) }
            #expect(throws: RiverCodecError.self) { try codec.codec.encode(CodecRoundTripTests.sampleMessage(payload: .bigInt(""))) }
        }
    }
}

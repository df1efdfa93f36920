import Foundation
import River
import RiverProtobuf
import SwiftProtobuf
import Testing

/// The CLI's dynamic codec (descriptor set, no generated types) against swift-protobuf's
/// generated code for the same messages (Protos/river/test/kitchen_sink.proto): JSON →
/// binary and binary → JSON agree with it for every field shape, and bad input is a clear error.
@Suite struct DynamicProtobufCodecTests {
    static let pool: ProtobufDescriptorPool = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/protobuf/kitchen_sink.protoset")
        let bytes = (try? Data(contentsOf: url)).map { [UInt8]($0) } ?? []
        return (try? ProtobufDescriptorPool(descriptorSet: bytes)) ?? ProtobufDescriptorPool(files: [])
    }()
    static let typeName = "river.test.sink.KitchenSink"
    let encoder = DynamicProtobufEncoder(pool: pool)
    let decoder = DynamicProtobufDecoder(pool: pool)

    /// A seeded random message using every field.
    static func sample(seed: UInt64) -> River_Test_Sink_KitchenSink {
        var random = SplitMix64(seed: seed)
        func pick<T: FixedWidthInteger>(_: T.Type) -> T {
            switch random.next() % 4 {
            case 0: 0
            case 1: T.max
            case 2: T.min
            default: T(truncatingIfNeeded: random.next())
            }
        }
        func text() -> String { ["", "plain", "ünïcödé ✓", "quote\"back\\slash\n"][Int(random.next() % 4)] }
        func inner() -> River_Test_Sink_Inner {
            .with {
                $0.label = text()
                $0.numbers = (0..<Int(random.next() % 4)).map { _ in pick(Int32.self) }
            }
        }
        return .with {
            $0.anInt32 = pick(Int32.self)
            $0.anInt64 = pick(Int64.self)
            $0.aUint32 = pick(UInt32.self)
            $0.aUint64 = pick(UInt64.self)
            $0.aSint32 = pick(Int32.self)
            $0.aSint64 = pick(Int64.self)
            $0.aFixed32 = pick(UInt32.self)
            $0.aFixed64 = pick(UInt64.self)
            $0.anSfixed32 = pick(Int32.self)
            $0.anSfixed64 = pick(Int64.self)
            $0.aFloat = [0, 1.5, -0.1, .infinity, Float.greatestFiniteMagnitude][Int(random.next() % 5)]
            $0.aDouble = [0, 2.25, -1e300, -.infinity, 0.1][Int(random.next() % 5)]
            $0.aBool = random.next() % 2 == 0
            $0.aString = text()
            $0.someBytes = Data((0..<Int(random.next() % 9)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            $0.color = [.unspecified, .red, .green][Int(random.next() % 3)]
            if random.next() % 2 == 0 { $0.inner = inner() }
            $0.manyInt64 = (0..<Int(random.next() % 4)).map { _ in pick(Int64.self) }
            $0.manyStrings = (0..<Int(random.next() % 3)).map { _ in text() }
            $0.manyInners = (0..<Int(random.next() % 3)).map { _ in inner() }
            $0.manyColors = (0..<Int(random.next() % 3)).map { _ in .green }
            $0.counts = Dictionary(uniqueKeysWithValues: (0..<Int(random.next() % 3)).map { ("k\($0)", pick(Int64.self)) })
            $0.names = Dictionary(uniqueKeysWithValues: (0..<Int(random.next() % 3)).map { (Int32($0) - 1, text()) })
            $0.inners = random.next() % 2 == 0 ? ["one": inner()] : [:]
            switch random.next() % 3 {
            case 0: $0.choiceText = text()
            case 1: $0.choiceInner = inner()
            default: break
            }
            if random.next() % 2 == 0 { $0.maybe = 0 }
            $0.manyDoubles = (0..<Int(random.next() % 3)).map { _ in [0.5, -3, 1e-9][Int(random.next() % 3)] }
        }
    }

    @Test func theDescriptorSetIsLoaded() throws {
        #expect(try Self.pool.message(Self.typeName).descriptor.field.count == 28)
    }

    @Test(arguments: 0..<40 as Range<UInt64>)
    func jsonEncodesToWhatSwiftProtobufReads(_ seed: UInt64) throws {
        let original = Self.sample(seed: seed)
        let json = try JSONCodec().decodeValue(Array(try original.jsonString().utf8))
        let bytes = try encoder.encode(json, as: Self.typeName)
        #expect(try River_Test_Sink_KitchenSink(serializedBytes: bytes) == original)
    }

    @Test(arguments: 0..<40 as Range<UInt64>)
    func bytesDecodeToJSONSwiftProtobufReads(_ seed: UInt64) throws {
        let original = Self.sample(seed: seed)
        let value = try decoder.decode(try original.serializedBytes(), as: Self.typeName)
        let json = String(decoding: try JSONCodec().encodeValue(value), as: UTF8.self)
        #expect(try River_Test_Sink_KitchenSink(jsonString: json) == original)
    }

    @Test func theJSONIsCanonical() throws {
        let message = River_Test_Sink_KitchenSink.with {
            $0.anInt64 = 5
            $0.aUint32 = 7
            $0.someBytes = Data([0xfb, 0xff])
            $0.color = .red
            $0.maybe = 0
            $0.counts = ["a": 1]
        }
        let value = try decoder.decode(try message.serializedBytes(), as: Self.typeName)
        #expect(
            value == [
                "anInt64": "5", "aUint32": 7, "someBytes": "+/8=", "color": "RED", "maybe": 0, "counts": ["a": "1"],
            ])
    }

    @Test func protoNamesEnumNumbersAndURLSafeBase64AreAccepted() throws {
        let bytes = try encoder.encode(["an_int64": 3, "color": 2, "some_bytes": "-_8"], as: Self.typeName)
        let message = try River_Test_Sink_KitchenSink(serializedBytes: bytes)
        #expect(message.anInt64 == 3)
        #expect(message.color == .green)
        #expect(message.someBytes == Data([0xfb, 0xff]))
    }

    @Test(arguments: [
        (["nope": 1], "has no field 'nope'"),
        (["anInt32": "x"], "anInt32: expected an integer"),
        (["aUint32": -1], "aUint32: expected an integer that fits UInt32"),
        (["color": "BLUE"], "has no value BLUE"),
        (["someBytes": "!!"], "not valid base64"),
        (["inner": ["label": 3]], "inner.label: expected a string"),
        (["manyInt64": 1], "manyInt64: expected an array"),
        (["counts": [1, 2]], "counts: expected an object"),
    ] as [(RiverValue, String)])
    func badJSONNamesTheField(_ value: RiverValue, _ expected: String) {
        #expect {
            _ = try encoder.encode(value, as: Self.typeName)
        } throws: { error in
            (error as? DynamicProtobufError)?.message.contains(expected) == true
        }
    }

    @Test(arguments: [[0x08], [0x12, 0x05, 0x01], [0x0d, 0x00], [0x0f]] as [[UInt8]])
    func malformedBytesAreAnError(_ bytes: [UInt8]) {
        #expect(throws: DynamicProtobufError.self) { try decoder.decode(bytes, as: Self.typeName) }
    }

    @Test func anUnknownMessageOrASetThatIsNoSetIsAnError() {
        #expect(throws: DynamicProtobufError.self) { try encoder.encode([:], as: "river.test.Nope") }
        #expect(throws: DynamicProtobufError.self) { try ProtobufDescriptorPool(descriptorSet: [0xff, 0xff]) }
    }
}

import Foundation
import River
import Testing

/// ``RiverValueEncoder``/``RiverValueDecoder`` and their trip through both codecs.
@Suite("Codec: Codable bridge")
struct CodecCodableBridgeTests {
    enum Color: String, Codable, Equatable { case red, green }

    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case rect(width: Int, height: Int)
        case empty
    }

    struct Inner: Codable, Equatable {
        var name: String
        var tags: [String]
        var score: Double?
    }

    struct Everything: Codable, Equatable {
        var int: Int
        var int8: Int8
        var uint64: UInt64
        var double: Double
        var float: Float
        var bool: Bool
        var string: String
        var optionalPresent: String?
        var optionalAbsent: Int?
        var data: Data
        var date: Date
        var big: RiverBigInt
        var color: Color
        var shapes: [Shape]
        var matrix: [[Int]]
        var inner: Inner
        var map: [String: Inner]
        var intKeyed: [Int: String]
        var raw: RiverValue
        var bytesArray: [UInt8]
    }

    static let sample = Everything(
        int: -42, int8: -8, uint64: .max, double: 0.1, float: 1.5, bool: true, string: "héllo 🎉",
        optionalPresent: "here", optionalAbsent: nil, data: Data([0, 1, 255]),
        date: Date(timeIntervalSince1970: 1_700_000_000.123), big: RiverBigInt("123456789012345678901234567890") ?? 0,
        color: .green, shapes: [.circle(radius: 2.5), .rect(width: 3, height: 4), .empty], matrix: [[], [1, 2], [3]],
        inner: Inner(name: "n", tags: ["a", "b"], score: nil),
        map: ["x": Inner(name: "x", tags: [], score: 1)], intKeyed: [1: "one", 2: "two"],
        raw: ["any": [1, "thing", .bytes([7])]], bytesArray: [1, 2, 3])

    @Test func encodesToExpectedShape() throws {
        let value = try RiverValueEncoder().encode(Self.sample)
        let fields = try #require(value.objectValue)
        #expect(fields["int"] == .int(-42))
        #expect(fields["uint64"] == .bigInt("18446744073709551615"))
        #expect(fields["data"] == .bytes([0, 1, 255]))
        #expect(fields["date"] == .date(Self.sample.date))
        #expect(fields["big"] == .bigInt("123456789012345678901234567890"))
        #expect(fields["color"] == "green")
        #expect(fields["optionalAbsent"] == nil, "nil optionals are omitted, not null")
        #expect(fields["inner"]?["score"] == nil)
        #expect(fields["raw"] == ["any": [1, "thing", .bytes([7])]])
        #expect(fields["bytesArray"] == [1, 2, 3])
        #expect(fields["shapes"]?.arrayValue?.first == ["circle": ["radius": 2.5]])
    }

    @Test func roundTripsThroughTheBridge() throws {
        let value = try RiverValueEncoder().encode(Self.sample)
        #expect(try RiverValueDecoder().decode(Everything.self, from: value) == Self.sample)
    }

    @Test("round trips through bridge and codec", arguments: NamedCodec.all)
    func roundTripsThroughCodec(_ codec: NamedCodec) throws {
        let value = try RiverValueEncoder().encode(Self.sample)
        let message = CodecRoundTripTests.sampleMessage(payload: value)
        let decoded = try codec.codec.decode(codec.codec.encode(message))
        #expect(try RiverValueDecoder().decode(Everything.self, from: decoded.payload) == Self.sample)
    }

    @Test func topLevelSpecialValues() throws {
        let encoder = RiverValueEncoder()
        let decoder = RiverValueDecoder()
        #expect(try encoder.encode(RiverValue.bytes([1])) == .bytes([1]))
        #expect(try encoder.encode(Data([1, 2])) == .bytes([1, 2]))
        #expect(try encoder.encode(5) == .int(5))
        #expect(try encoder.encode([1, 2]) == [1, 2])
        #expect(try encoder.encode(Optional<Int>.none) == .null)
        #expect(try decoder.decode(RiverValue.self, from: ["a": 1]) == ["a": 1])
        #expect(try decoder.decode(Data.self, from: .bytes([3])) == Data([3]))
        #expect(try decoder.decode(Int?.self, from: .null) == nil)
        #expect(try decoder.decode([String: Int].self, from: ["a": 1, "b": 2]) == ["a": 1, "b": 2])
    }

    @Test func numberConversions() throws {
        let decoder = RiverValueDecoder()
        #expect(try decoder.decode(Double.self, from: .int(3)) == 3)
        #expect(try decoder.decode(Float.self, from: .int(3)) == 3)
        #expect(try decoder.decode(Int.self, from: .double(4)) == 4)
        #expect(try decoder.decode(Int64.self, from: .bigInt("-9223372036854775808")) == .min)
        #expect(try decoder.decode(UInt64.self, from: .bigInt("18446744073709551615")) == .max)
        #expect(try decoder.decode(UInt8.self, from: .int(255)) == 255)
        #expect(throws: DecodingError.self) { try decoder.decode(UInt8.self, from: .int(256)) }
        #expect(throws: DecodingError.self) { try decoder.decode(Int.self, from: .double(4.5)) }
        #expect(throws: DecodingError.self) { try decoder.decode(Int64.self, from: .bigInt("9223372036854775808")) }
        #expect(throws: DecodingError.self) { try decoder.decode(Int.self, from: .double(1e30)) }
        #expect(throws: DecodingError.self) { try decoder.decode(Float.self, from: .double(1e300)) }
        #expect(try decoder.decode(RiverBigInt.self, from: .int(7)) == 7)
    }

    @Test func dates() throws {
        let decoder = RiverValueDecoder()
        let date = Date(timeIntervalSince1970: 1_700_000_000.123)
        #expect(try decoder.decode(Date.self, from: .date(date)) == date)
        #expect(try decoder.decode(Date.self, from: .int(1_700_000_000_123)) == date)
        #expect(try decoder.decode(Date.self, from: "2023-11-14T22:13:20.123Z") == date)
        #expect(try decoder.decode(Date.self, from: "2023-11-14T23:13:20.123+01:00") == date)
        #expect(try decoder.decode(Date.self, from: "1970-01-02") == Date(timeIntervalSince1970: 86_400))
        #expect(throws: DecodingError.self) { try decoder.decode(Date.self, from: "yesterday") }
    }

    struct Strict: Decodable { var a: Int; var b: [Inner] }

    @Test func errorsCarryCodingPaths() throws {
        let decoder = RiverValueDecoder()
        func path(_ value: RiverValue) -> String? {
            do {
                _ = try decoder.decode(Strict.self, from: value)
                return nil
            } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
                let DecodingError.dataCorrupted(context)
            {
                return context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            } catch let DecodingError.keyNotFound(key, context) {
                return (context.codingPath + [key]).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(path(["a": "x", "b": []]) == "a")
        #expect(path(["a": 1]) == "b")
        #expect(path(["a": 1, "b": [["name": "n", "tags": []], ["name": 5, "tags": []]]]) == "b.[1].name")
        #expect(path(["a": 1, "b": [["name": "n", "tags": ["ok", .null]]]]) == "b.[0].tags.[1]")
        #expect(path(["a": .null, "b": []]) == "a")
        #expect(path(["a": 1.5, "b": []]) == "a")
        #expect(path(1) == "")
    }

    /// Manual containers: nested keyed/unkeyed containers and super encoders/decoders.
    struct Manual: Codable, Equatable {
        var x: Int
        var list: [String]
        var parent: String

        enum Keys: String, CodingKey { case x, nested, list }

        init(x: Int, list: [String], parent: String) {
            self.x = x
            self.list = list
            self.parent = parent
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var nested = container.nestedContainer(keyedBy: Keys.self, forKey: .nested)
            try nested.encode(x, forKey: .x)
            var list = nested.nestedUnkeyedContainer(forKey: .list)
            for item in self.list { try list.encode(item) }
            var inner = list.nestedContainer(keyedBy: Keys.self)
            try inner.encodeNil(forKey: .x)
            var sup = container.superEncoder().singleValueContainer()
            try sup.encode(parent)
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            let nested = try container.nestedContainer(keyedBy: Keys.self, forKey: .nested)
            x = try nested.decode(Int.self, forKey: .x)
            var list = try nested.nestedUnkeyedContainer(forKey: .list)
            var items: [String] = []
            while !list.isAtEnd {
                if let s = try? list.decode(String.self) {
                    items.append(s)
                } else {
                    let inner = try list.nestedContainer(keyedBy: Keys.self)
                    #expect(try inner.decodeNil(forKey: .x))
                }
            }
            self.list = items
            parent = try container.superDecoder().singleValueContainer().decode(String.self)
        }
    }

    @Test func nestedContainersAndSuper() throws {
        let manual = Manual(x: 1, list: ["a", "b"], parent: "p")
        let value = try RiverValueEncoder().encode(manual)
        #expect(value == ["nested": ["x": 1, "list": ["a", "b", ["x": .null]]], "super": "p"])
        #expect(try RiverValueDecoder().decode(Manual.self, from: value) == manual)
    }

    @Test func bigIntWithOtherCoders() throws {
        let big = try #require(RiverBigInt("-12345678901234567890"))
        let json = try JSONEncoder().encode([big])
        #expect(String(decoding: json, as: UTF8.self) == #"["-12345678901234567890"]"#)
        #expect(try JSONDecoder().decode([RiverBigInt].self, from: json) == [big])
        #expect(RiverBigInt("12a") == nil)
        #expect(big.int64Value == nil)
        #expect(RiverBigInt(42).int64Value == 42)
    }
}

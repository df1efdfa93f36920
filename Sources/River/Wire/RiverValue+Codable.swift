#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `RiverValue` is `Codable` so it can stand anywhere a payload type can. The River bridge
/// (``RiverValueEncoder``/``RiverValueDecoder``) passes it through unchanged; with other
/// coders (for example Foundation's `JSONEncoder`) it uses River's JSON conventions:
/// bytes as `{"$t": base64}`, big integers as `{"$b": decimal}`, dates as milliseconds.
extension RiverValue: Codable {
    private struct FieldKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes any value a general-purpose decoder can represent.
    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: FieldKey.self) {
            var fields: [String: RiverValue] = [:]
            for key in keyed.allKeys {
                fields[key.stringValue] = try keyed.decode(RiverValue.self, forKey: key)
            }
            if fields.count == 1, case .string(let base64)? = fields["$t"], let data = Data(base64Encoded: base64) {
                self = .bytes(Array(data))
            } else if fields.count == 1, case .string(let decimal)? = fields["$b"] {
                self = .bigInt(decimal)
            } else {
                self = .object(fields)
            }
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var elements: [RiverValue] = []
            while !unkeyed.isAtEnd { elements.append(try unkeyed.decode(RiverValue.self)) }
            self = .array(elements)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let b = try? single.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? single.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? single.decode(Double.self) {
            self = .double(d)
        } else if let s = try? single.decode(String.self) {
            self = .string(s)
        } else {
            throw DecodingError.dataCorruptedError(in: single, debugDescription: "not a River value")
        }
    }

    /// Encodes the value with River's JSON conventions for bytes, big integers and dates.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .int(let i):
            var c = encoder.singleValueContainer()
            try c.encode(i)
        case .double(let d):
            var c = encoder.singleValueContainer()
            try c.encode(d)
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .bigInt(let decimal):
            var c = encoder.container(keyedBy: FieldKey.self)
            try c.encode(decimal, forKey: FieldKey(stringValue: "$b"))
        case .bytes(let bytes):
            var c = encoder.container(keyedBy: FieldKey.self)
            try c.encode(Data(bytes).base64EncodedString(), forKey: FieldKey(stringValue: "$t"))
        case .date(let date):
            var c = encoder.singleValueContainer()
            try c.encode(date.timeIntervalSince1970 * 1000)
        case .array(let elements):
            var c = encoder.unkeyedContainer()
            for element in elements { try c.encode(element) }
        case .object(let fields):
            var c = encoder.container(keyedBy: FieldKey.self)
            for (key, value) in fields { try c.encode(value, forKey: FieldKey(stringValue: key)) }
        }
    }
}

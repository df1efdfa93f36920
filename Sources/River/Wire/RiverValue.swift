#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A dynamically typed River payload value.
///
/// `RiverValue` is what a payload looks like when no Swift type describes it: the CLI,
/// schema-less calls, tests and the codecs themselves use it. Typed callers use their own
/// `Codable` types, which ``RiverValueEncoder`` and ``RiverValueDecoder`` bridge to this.
///
/// Integers are kept apart from doubles so that values beyond ±2^53 survive a round trip.
/// ``bigInt(_:)`` is the wire's explicit big-integer form (a JavaScript `BigInt` on the
/// reference side): `{"$b": "<decimal>"}` in JSON, msgpack extension type 0.
@frozen
public enum RiverValue: Sendable, Hashable {
    /// JSON `null` / msgpack nil.
    case null
    /// A boolean.
    case bool(Bool)
    /// An integral number that fits in 64 signed bits.
    case int(Int64)
    /// An explicit big integer, as a decimal string (`-?[0-9]+`), of any size.
    case bigInt(String)
    /// A floating-point number (IEEE double).
    case double(Double)
    /// A UTF-8 string.
    case string(String)
    /// Raw bytes (`Uint8Array` on the reference side).
    case bytes([UInt8])
    /// A point in time (msgpack timestamp extension −1; `Date` on the reference side).
    case date(Date)
    /// An ordered list of values.
    case array([RiverValue])
    /// A map from string keys to values.
    case object([String: RiverValue])
}

extension RiverValue {
    /// The value stored under `key` when this is an object, else `nil`.
    public subscript(key: String) -> RiverValue? {
        guard case .object(let fields) = self else { return nil }
        return fields[key]
    }

    /// The string when this is ``string(_:)``, else `nil`.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean when this is ``bool(_:)``, else `nil`.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The integer when this is an ``int(_:)``, an integral ``double(_:)`` or a
    /// ``bigInt(_:)`` that fits in 64 bits; else `nil`.
    public var int64Value: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d):
            guard d.rounded(.towardZero) == d, let i = Int64(exactly: d) else { return nil }
            return i
        case .bigInt(let s): return Int64(s)
        default: return nil
        }
    }

    /// The number as a `Double` when this is ``int(_:)`` or ``double(_:)``, else `nil`.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The fields when this is an ``object(_:)``, else `nil`.
    public var objectValue: [String: RiverValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The elements when this is an ``array(_:)``, else `nil`.
    public var arrayValue: [RiverValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// A short name of the value's kind, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int, .double: "number"
        case .bigInt: "bigint"
        case .string: "string"
        case .bytes: "bytes"
        case .date: "date"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension RiverValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// Creates ``null``.
    public init(nilLiteral: ()) { self = .null }
    /// Creates a ``bool(_:)``.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// Creates an ``int(_:)``.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// Creates a ``double(_:)``.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// Creates a ``string(_:)``.
    public init(stringLiteral value: String) { self = .string(value) }
    /// Creates an ``array(_:)``.
    public init(arrayLiteral elements: RiverValue...) { self = .array(elements) }
    /// Creates an ``object(_:)``; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, RiverValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

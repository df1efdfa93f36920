#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes `Encodable` values into ``RiverValue``s, ready to send as payloads.
///
/// - ``RiverValue`` passes through unchanged; `Data` becomes ``RiverValue/bytes(_:)``;
///   `Date` becomes ``RiverValue/date(_:)``; ``RiverBigInt`` becomes ``RiverValue/bigInt(_:)``.
/// - `nil` optional properties are left out (synthesized `Codable` uses `encodeIfPresent`),
///   never written as `null`; an explicit `encodeNil` writes ``RiverValue/null``.
/// - Unsigned integers above `Int64.max` become ``RiverValue/bigInt(_:)``.
public struct RiverValueEncoder: Sendable {
    /// Values handed to `Encodable` implementations through `Encoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable]

    /// Creates an encoder.
    /// - Parameter userInfo: Context for the encoded types' `encode(to:)`.
    public init(userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.userInfo = userInfo
    }

    /// Encodes `value`.
    /// - Parameter value: Any `Encodable` value.
    /// - Returns: The value as a ``RiverValue``; a type that encodes nothing yields an empty object.
    /// - Throws: `EncodingError` (or whatever the type's `encode(to:)` throws).
    public func encode<T: Encodable>(_ value: T) throws -> RiverValue {
        if let boxed = RiverValueBoxer.box(value) { return boxed }
        let encoder = RiverValueEncoderImpl(codingPath: [], userInfo: userInfo)
        try value.encode(to: encoder)
        return encoder.encoded() ?? .object([:])
    }
}

/// Converts the types the bridge knows directly, without a nested encoder.
enum RiverValueBoxer {
    @inline(__always)
    static func box<T: Encodable>(_ value: T) -> RiverValue? {
        if T.self == String.self, let v = value as? String { return .string(v) }
        if T.self == Int.self, let v = value as? Int { return .int(Int64(v)) }
        if T.self == Double.self, let v = value as? Double { return .double(v) }
        if T.self == Bool.self, let v = value as? Bool { return .bool(v) }
        if T.self == RiverValue.self, let v = value as? RiverValue { return v }
        if T.self == Data.self, let v = value as? Data { return .bytes(v.withUnsafeBytes { LargeByteArray.copy($0) }) }
        if T.self == Date.self, let v = value as? Date { return .date(v) }
        if T.self == RiverBigInt.self, let v = value as? RiverBigInt { return .bigInt(v.decimal) }
        if T.self == Int64.self, let v = value as? Int64 { return .int(v) }
        if T.self == Int32.self, let v = value as? Int32 { return .int(Int64(v)) }
        if T.self == Float.self, let v = value as? Float { return .double(Double(v)) }
        if T.self == UInt64.self, let v = value as? UInt64 { return unsigned(v) }
        if T.self == UInt.self, let v = value as? UInt { return unsigned(UInt64(v)) }
        if T.self == UInt32.self, let v = value as? UInt32 { return .int(Int64(v)) }
        if T.self == Int16.self, let v = value as? Int16 { return .int(Int64(v)) }
        if T.self == Int8.self, let v = value as? Int8 { return .int(Int64(v)) }
        if T.self == UInt16.self, let v = value as? UInt16 { return .int(Int64(v)) }
        if T.self == UInt8.self, let v = value as? UInt8 { return .int(Int64(v)) }
        return nil
    }

    @inline(__always)
    static func unsigned(_ v: UInt64) -> RiverValue {
        v <= UInt64(Int64.max) ? .int(Int64(v)) : .bigInt(String(v))
    }
}

/// A key for array positions and `super` in coding paths.
struct RiverCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }

    init(index: Int) {
        self.stringValue = "Index \(index)"
        self.intValue = index
    }

    static let `super` = RiverCodingKey(stringValue: "super")
}

/// An object under construction. Not final: an encoder is the storage of the object it
/// encodes itself (one allocation where a separate storage would make two).
class RiverObjectStorage {
    final var fields: [String: RiverValue] = [:]
    /// Containers and encoders handed out for later writing, resolved at the end.
    final var pending: [(String, RiverPendingNode)] = []

    final func resolve() -> RiverValue {
        for (key, node) in pending { fields[key] = node.resolve() }
        pending.removeAll()
        return .object(fields)
    }
}

/// An array under construction.
final class RiverArrayStorage {
    var elements: [RiverValue] = []
    var pending: [(Int, RiverPendingNode)] = []

    func resolve() -> RiverValue {
        for (index, node) in pending { elements[index] = node.resolve() }
        pending.removeAll()
        return .array(elements)
    }
}

/// A nested container or encoder whose content is only known at the end.
enum RiverPendingNode {
    case object(RiverObjectStorage)
    case array(RiverArrayStorage)
    case encoder(RiverValueEncoderImpl)

    func resolve() -> RiverValue {
        switch self {
        case .object(let storage): storage.resolve()
        case .array(let storage): storage.resolve()
        case .encoder(let encoder): encoder.encoded() ?? .object([:])
        }
    }
}

/// The `Encoder` behind ``RiverValueEncoder``; when it encodes an object, it holds the
/// object's fields itself (the inherited storage).
final class RiverValueEncoderImpl: RiverObjectStorage, Encoder {
    enum Storage {
        case empty
        case value(RiverValue)
        /// The object in this encoder's own fields.
        case object
        case array(RiverArrayStorage)
    }

    let codingPath: [any CodingKey]
    let sendableUserInfo: [CodingUserInfoKey: any Sendable]
    var storage: Storage = .empty

    var userInfo: [CodingUserInfoKey: Any] { sendableUserInfo }

    init(codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: any Sendable]) {
        self.codingPath = codingPath
        self.sendableUserInfo = userInfo
    }

    /// What was encoded, `nil` for nothing.
    func encoded() -> RiverValue? {
        switch storage {
        case .empty: nil
        case .value(let value): value
        case .object: resolve()
        case .array(let array): array.resolve()
        }
    }

    /// Encodes `value` found at `key` below this encoder's path.
    func encodeNested<T: Encodable>(_ value: T, at key: any CodingKey) throws -> RiverValue {
        if let boxed = RiverValueBoxer.box(value) { return boxed }
        let child = RiverValueEncoderImpl(codingPath: codingPath + [key], userInfo: sendableUserInfo)
        try value.encode(to: child)
        return child.encoded() ?? .object([:])
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = storage {} else {
            // A value encoded before (by a single-value container) is replaced, as a fresh
            // object storage replaced it before.
            fields = [:]
            pending = []
            storage = .object
        }
        return KeyedEncodingContainer(RiverKeyedEncodingContainer<Key>(encoder: self, object: self, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let array: RiverArrayStorage
        if case .array(let existing) = storage {
            array = existing
        } else {
            array = RiverArrayStorage()
            storage = .array(array)
        }
        return RiverUnkeyedEncodingContainer(encoder: self, array: array, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        RiverSingleValueEncodingContainer(encoder: self)
    }
}

struct RiverKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: RiverValueEncoderImpl
    let object: RiverObjectStorage
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { object.fields[key.stringValue] = .null }
    mutating func encode(_ value: Bool, forKey key: Key) throws { object.fields[key.stringValue] = .bool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { object.fields[key.stringValue] = .string(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { object.fields[key.stringValue] = .double(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { object.fields[key.stringValue] = .double(Double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { object.fields[key.stringValue] = .int(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { object.fields[key.stringValue] = .int(Int64(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { object.fields[key.stringValue] = .int(Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { object.fields[key.stringValue] = .int(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { object.fields[key.stringValue] = .int(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { object.fields[key.stringValue] = RiverValueBoxer.unsigned(UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { object.fields[key.stringValue] = .int(Int64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { object.fields[key.stringValue] = .int(Int64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { object.fields[key.stringValue] = .int(Int64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { object.fields[key.stringValue] = RiverValueBoxer.unsigned(value) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.fields[key.stringValue] = try encoder.encodeNested(value, at: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = RiverObjectStorage()
        object.pending.append((key.stringValue, .object(nested)))
        return KeyedEncodingContainer(
            RiverKeyedEncodingContainer<NestedKey>(encoder: encoder, object: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = RiverArrayStorage()
        object.pending.append((key.stringValue, .array(nested)))
        return RiverUnkeyedEncodingContainer(encoder: encoder, array: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(key: RiverCodingKey.super) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(key: key) }

    private func superEncoder(key: any CodingKey) -> any Encoder {
        let child = RiverValueEncoderImpl(codingPath: codingPath + [key], userInfo: encoder.sendableUserInfo)
        object.pending.append((key.stringValue, .encoder(child)))
        return child
    }
}

struct RiverUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let encoder: RiverValueEncoderImpl
    let array: RiverArrayStorage
    let codingPath: [any CodingKey]

    var count: Int { array.elements.count }

    private var nextKey: RiverCodingKey { RiverCodingKey(index: array.elements.count) }

    mutating func encodeNil() throws { array.elements.append(.null) }
    mutating func encode(_ value: Bool) throws { array.elements.append(.bool(value)) }
    mutating func encode(_ value: String) throws { array.elements.append(.string(value)) }
    mutating func encode(_ value: Double) throws { array.elements.append(.double(value)) }
    mutating func encode(_ value: Float) throws { array.elements.append(.double(Double(value))) }
    mutating func encode(_ value: Int) throws { array.elements.append(.int(Int64(value))) }
    mutating func encode(_ value: Int8) throws { array.elements.append(.int(Int64(value))) }
    mutating func encode(_ value: Int16) throws { array.elements.append(.int(Int64(value))) }
    mutating func encode(_ value: Int32) throws { array.elements.append(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { array.elements.append(.int(value)) }
    mutating func encode(_ value: UInt) throws { array.elements.append(RiverValueBoxer.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { array.elements.append(.int(Int64(value))) }
    mutating func encode(_ value: UInt16) throws { array.elements.append(.int(Int64(value))) }
    mutating func encode(_ value: UInt32) throws { array.elements.append(.int(Int64(value))) }
    mutating func encode(_ value: UInt64) throws { array.elements.append(RiverValueBoxer.unsigned(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        array.elements.append(try encoder.encodeNested(value, at: nextKey))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let key = nextKey
        let nested = RiverObjectStorage()
        array.pending.append((array.elements.count, .object(nested)))
        array.elements.append(.null)
        return KeyedEncodingContainer(
            RiverKeyedEncodingContainer<NestedKey>(encoder: encoder, object: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let key = nextKey
        let nested = RiverArrayStorage()
        array.pending.append((array.elements.count, .array(nested)))
        array.elements.append(.null)
        return RiverUnkeyedEncodingContainer(encoder: encoder, array: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let key = nextKey
        let child = RiverValueEncoderImpl(codingPath: codingPath + [key], userInfo: encoder.sendableUserInfo)
        array.pending.append((array.elements.count, .encoder(child)))
        array.elements.append(.null)
        return child
    }
}

struct RiverSingleValueEncodingContainer: SingleValueEncodingContainer {
    let encoder: RiverValueEncoderImpl

    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ value: RiverValue) { encoder.storage = .value(value) }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(.double(value)) }
    mutating func encode(_ value: Float) throws { set(.double(Double(value))) }
    mutating func encode(_ value: Int) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int8) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int16) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int32) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { set(.int(value)) }
    mutating func encode(_ value: UInt) throws { set(RiverValueBoxer.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: UInt16) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: UInt32) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: UInt64) throws { set(RiverValueBoxer.unsigned(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        if let boxed = RiverValueBoxer.box(value) {
            set(boxed)
            return
        }
        // Encode in place: the value writes into this very encoder.
        try value.encode(to: encoder)
    }
}

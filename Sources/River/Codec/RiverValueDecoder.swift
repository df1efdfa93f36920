#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Decodes `Decodable` values from ``RiverValue``s received as payloads.
///
/// - ``RiverValue`` passes through unchanged; `Data` decodes from ``RiverValue/bytes(_:)``;
///   `Date` from ``RiverValue/date(_:)``, a number of milliseconds since 1970 or ISO 8601
///   text (how a date arrives through the JSON codec); ``RiverBigInt`` from
///   ``RiverValue/bigInt(_:)``, an integer or decimal text.
/// - Numbers convert where no information is lost: an ``RiverValue/int(_:)`` into `Double`
///   or `Float`, an integral ``RiverValue/double(_:)`` into an integer type, a
///   ``RiverValue/bigInt(_:)`` into an integer type it fits. Overflow is a `DecodingError`.
/// - A missing key or ``RiverValue/null`` decodes an optional as `nil`.
/// Errors are `DecodingError`s whose context carries the coding path.
public struct RiverValueDecoder: Sendable {
    /// Values handed to `Decodable` implementations through `Decoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable]

    /// Creates a decoder.
    /// - Parameter userInfo: Context for the decoded types' `init(from:)`.
    public init(userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.userInfo = userInfo
    }

    /// Decodes a `T` from `value`.
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - value: The value, typically a message payload.
    /// - Returns: The decoded value.
    /// - Throws: `DecodingError` naming the coding path of the offending value.
    public func decode<T: Decodable>(_ type: T.Type, from value: RiverValue) throws -> T {
        try RiverValueUnboxer.unbox(type, value, path: [], userInfo: userInfo)
    }
}

/// Conversions from ``RiverValue`` to the types the bridge knows directly.
enum RiverValueUnboxer {
    static func mismatch(_ type: Any.Type, _ value: RiverValue, _ path: @autoclosure () -> [any CodingKey]) -> DecodingError {
        if case .null = value {
            return DecodingError.valueNotFound(
                type, .init(codingPath: path(), debugDescription: "expected \(type), found null"))
        }
        return DecodingError.typeMismatch(
            type, .init(codingPath: path(), debugDescription: "expected \(type), found \(value.kindName)"))
    }

    static func corrupted(_ path: @autoclosure () -> [any CodingKey], _ text: String) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: path(), debugDescription: text))
    }

    static func unbox<T: Decodable>(
        _ type: T.Type, _ value: RiverValue, path: @autoclosure () -> [any CodingKey],
        userInfo: [CodingUserInfoKey: any Sendable]
    ) throws -> T {
        if T.self == String.self, let v = try string(value, path: path()) as? T { return v }
        if T.self == Int.self, let v = try integer(Int.self, value, path: path()) as? T { return v }
        if T.self == Double.self, let v = try double(value, path: path()) as? T { return v }
        if T.self == Bool.self, let v = try bool(value, path: path()) as? T { return v }
        if T.self == RiverValue.self, let v = value as? T { return v }
        if T.self == Data.self, let v = try data(value, path: path()) as? T { return v }
        if T.self == Date.self, let v = try date(value, path: path()) as? T { return v }
        if T.self == RiverBigInt.self, let v = try bigInt(value, path: path()) as? T { return v }
        if T.self == Int64.self, let v = try integer(Int64.self, value, path: path()) as? T { return v }
        if T.self == Int32.self, let v = try integer(Int32.self, value, path: path()) as? T { return v }
        if T.self == UInt64.self, let v = try integer(UInt64.self, value, path: path()) as? T { return v }
        if T.self == Float.self, let v = try float(value, path: path()) as? T { return v }
        return try T(from: RiverValueDecoderImpl(value: value, codingPath: path(), userInfo: userInfo))
    }

    static func string(_ value: RiverValue, path: @autoclosure () -> [any CodingKey]) throws -> String {
        switch value {
        case .string(let s): return s
        case .date(let d): return ISO8601.format(d)
        default: throw mismatch(String.self, value, path())
        }
    }

    static func bool(_ value: RiverValue, path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard case .bool(let b) = value else { throw mismatch(Bool.self, value, path()) }
        return b
    }

    static func double(_ value: RiverValue, path: @autoclosure () -> [any CodingKey]) throws -> Double {
        switch value {
        case .double(let d): return d
        case .int(let i): return Double(i)
        case .bigInt(let s):
            guard let d = Double(s) else { throw corrupted(path(), "big integer \(s) is not a number") }
            return d
        default: throw mismatch(Double.self, value, path())
        }
    }

    static func float(_ value: RiverValue, path: @autoclosure () -> [any CodingKey]) throws -> Float {
        let d = try double(value, path: path())
        let f = Float(d)
        if d.isFinite && !f.isFinite { throw corrupted(path(), "number \(d) does not fit in Float") }
        return f
    }

    static func integer<I: FixedWidthInteger>(
        _ type: I.Type, _ value: RiverValue, path: @autoclosure () -> [any CodingKey]
    ) throws -> I {
        switch value {
        case .int(let i):
            guard let v = I(exactly: i) else { throw corrupted(path(), "number \(i) does not fit in \(I.self)") }
            return v
        case .double(let d):
            guard d.isFinite, d.rounded(.towardZero) == d else {
                throw corrupted(path(), "number \(d) is not an integer (expected \(I.self))")
            }
            guard let v = I(exactly: d) else { throw corrupted(path(), "number \(d) does not fit in \(I.self)") }
            return v
        case .bigInt(let s):
            guard let v = I(s) else { throw corrupted(path(), "big integer \(s) does not fit in \(I.self)") }
            return v
        default:
            throw mismatch(I.self, value, path())
        }
    }

    static func data(_ value: RiverValue, path: @autoclosure () -> [any CodingKey]) throws -> Data {
        guard case .bytes(let bytes) = value else { throw mismatch(Data.self, value, path()) }
        return sharingStorage(bytes)
    }

    /// Byte arrays from this size up become `Data` without a copy (smaller ones are copied:
    /// the closure that keeps the array alive costs more than copying a few bytes).
    static let sharedDataThreshold = 4096

    /// `bytes` as `Data`; from ``sharedDataThreshold`` bytes up the `Data` reads the array's own
    /// storage and keeps the array alive until the `Data` is freed, so a big binary payload is
    /// not copied a second time after the codec made it.
    ///
    /// Safe because a native Swift array's elements sit in one heap object that never moves:
    /// the deallocator closure holds an immutable copy of the array (a reference to that
    /// object), so the storage stays alive and unmodified for as long as the `Data` uses it.
    static func sharingStorage(_ bytes: [UInt8]) -> Data {
        guard bytes.count >= sharedDataThreshold else { return Data(bytes) }
        let base = bytes.withUnsafeBytes { $0.baseAddress }
        guard let base else { return Data(bytes) }
        return Data(
            bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count,
            deallocator: .custom { _, _ in withExtendedLifetime(bytes) {} })
    }

    static func date(_ value: RiverValue, path: @autoclosure () -> [any CodingKey]) throws -> Date {
        switch value {
        case .date(let d): return d
        case .int(let ms): return Date(timeIntervalSince1970: Double(ms) / 1000)
        case .double(let ms):
            guard ms.isFinite else { throw corrupted(path(), "\(ms) is not a date") }
            return Date(timeIntervalSince1970: ms / 1000)
        case .string(let text):
            guard let d = ISO8601.parse(text) else { throw corrupted(path(), "\"\(text)\" is not an ISO 8601 date") }
            return d
        default: throw mismatch(Date.self, value, path())
        }
    }

    static func bigInt(_ value: RiverValue, path: @autoclosure () -> [any CodingKey]) throws -> RiverBigInt {
        switch value {
        case .bigInt(let s), .string(let s):
            guard let v = RiverBigInt(s) else { throw corrupted(path(), "\"\(s)\" is not a decimal integer") }
            return v
        case .int(let i): return RiverBigInt(i)
        case .double(let d):
            guard d.isFinite, d.rounded(.towardZero) == d, let i = Int64(exactly: d) else {
                throw corrupted(path(), "number \(d) is not an integer")
            }
            return RiverBigInt(i)
        default: throw mismatch(RiverBigInt.self, value, path())
        }
    }
}

/// The `Decoder` behind ``RiverValueDecoder``: a value and where it sits.
struct RiverValueDecoderImpl: Decoder {
    let value: RiverValue
    let codingPath: [any CodingKey]
    let sendableUserInfo: [CodingUserInfoKey: any Sendable]

    init(value: RiverValue, codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: any Sendable]) {
        self.value = value
        self.codingPath = codingPath
        self.sendableUserInfo = userInfo
    }

    var userInfo: [CodingUserInfoKey: Any] { sendableUserInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else {
            throw RiverValueUnboxer.mismatch([String: RiverValue].self, value, codingPath)
        }
        return KeyedDecodingContainer(RiverKeyedDecodingContainer<Key>(decoder: self, fields: fields))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw RiverValueUnboxer.mismatch([RiverValue].self, value, codingPath)
        }
        return RiverUnkeyedDecodingContainer(decoder: self, elements: elements)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        RiverSingleValueDecodingContainer(decoder: self)
    }
}

struct RiverKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: RiverValueDecoderImpl
    let fields: [String: RiverValue]

    var codingPath: [any CodingKey] { decoder.codingPath }

    var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    private func value(_ key: Key) throws -> RiverValue {
        guard let value = fields[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "no value for key \"\(key.stringValue)\""))
        }
        return value
    }

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let value = fields[key.stringValue] else { return true }
        if case .null = value { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        let v = try value(key)
        if case .bool(let b) = v { return b }
        return try RiverValueUnboxer.bool(v, path: path(key))
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        let v = try value(key)
        if case .string(let s) = v { return s }
        return try RiverValueUnboxer.string(v, path: path(key))
    }

    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try RiverValueUnboxer.double(value(key), path: path(key))
    }

    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try RiverValueUnboxer.float(value(key), path: path(key))
    }

    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        let v = try value(key)
        if case .int(let i) = v, let r = Int(exactly: i) { return r }
        return try RiverValueUnboxer.integer(Int.self, v, path: path(key))
    }

    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(key) }

    private func integer<I: FixedWidthInteger>(_ key: Key) throws -> I {
        try RiverValueUnboxer.integer(I.self, value(key), path: path(key))
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try RiverValueUnboxer.unbox(type, value(key), path: path(key), userInfo: decoder.sendableUserInfo)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try RiverValueDecoderImpl(value: value(key), codingPath: path(key), userInfo: decoder.sendableUserInfo)
            .container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try RiverValueDecoderImpl(value: value(key), codingPath: path(key), userInfo: decoder.sendableUserInfo)
            .unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        RiverValueDecoderImpl(
            value: fields["super"] ?? .null, codingPath: codingPath + [RiverCodingKey.super],
            userInfo: decoder.sendableUserInfo)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        RiverValueDecoderImpl(value: fields[key.stringValue] ?? .null, codingPath: path(key), userInfo: decoder.sendableUserInfo)
    }
}

struct RiverUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let decoder: RiverValueDecoderImpl
    let elements: [RiverValue]
    private(set) var currentIndex = 0

    init(decoder: RiverValueDecoderImpl, elements: [RiverValue]) {
        self.decoder = decoder
        self.elements = elements
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private var path: [any CodingKey] { codingPath + [RiverCodingKey(index: currentIndex)] }

    private mutating func next(_ type: Any.Type) throws -> RiverValue {
        guard currentIndex < elements.count else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: path, debugDescription: "unkeyed container is at its end"))
        }
        return elements[currentIndex]
    }

    /// Converts the current element and moves past it; `convert` gets the element's coding
    /// path as a function, evaluated only when needed (an error, a nested decoder).
    private mutating func take<T>(_ type: T.Type, _ convert: (RiverValue, () -> [any CodingKey]) throws -> T) throws -> T {
        let value = try next(type)
        let (codingPath, index) = (self.codingPath, currentIndex)
        let result = try convert(value, { codingPath + [RiverCodingKey(index: index)] })
        currentIndex += 1
        return result
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < elements.count else {
            throw DecodingError.valueNotFound(
                Any?.self, .init(codingPath: path, debugDescription: "unkeyed container is at its end"))
        }
        if case .null = elements[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try take(type) { try RiverValueUnboxer.bool($0, path: $1()) } }
    mutating func decode(_ type: String.Type) throws -> String { try take(type) { try RiverValueUnboxer.string($0, path: $1()) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try take(type) { try RiverValueUnboxer.double($0, path: $1()) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try take(type) { try RiverValueUnboxer.float($0, path: $1()) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try integer() }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try integer() }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }

    private mutating func integer<I: FixedWidthInteger>() throws -> I {
        try take(I.self) { try RiverValueUnboxer.integer(I.self, $0, path: $1()) }
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let userInfo = decoder.sendableUserInfo
        return try take(type) { try RiverValueUnboxer.unbox(type, $0, path: $1(), userInfo: userInfo) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let userInfo = decoder.sendableUserInfo
        return try take(KeyedDecodingContainer<NestedKey>.self) {
            try RiverValueDecoderImpl(value: $0, codingPath: $1(), userInfo: userInfo).container(keyedBy: type)
        }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let userInfo = decoder.sendableUserInfo
        return try take((any UnkeyedDecodingContainer).self) {
            try RiverValueDecoderImpl(value: $0, codingPath: $1(), userInfo: userInfo).unkeyedContainer()
        }
    }

    mutating func superDecoder() throws -> any Decoder {
        let userInfo = decoder.sendableUserInfo
        return try take((any Decoder).self) { RiverValueDecoderImpl(value: $0, codingPath: $1(), userInfo: userInfo) }
    }
}

struct RiverSingleValueDecodingContainer: SingleValueDecodingContainer {
    let decoder: RiverValueDecoderImpl

    var codingPath: [any CodingKey] { decoder.codingPath }
    private var value: RiverValue { decoder.value }

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool { try RiverValueUnboxer.bool(value, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try RiverValueUnboxer.string(value, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try RiverValueUnboxer.double(value, path: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try RiverValueUnboxer.float(value, path: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try integer() }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
    func decode(_ type: UInt.Type) throws -> UInt { try integer() }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }

    private func integer<I: FixedWidthInteger>() throws -> I {
        try RiverValueUnboxer.integer(I.self, value, path: codingPath)
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try RiverValueUnboxer.unbox(type, value, path: codingPath, userInfo: decoder.sendableUserInfo)
    }
}

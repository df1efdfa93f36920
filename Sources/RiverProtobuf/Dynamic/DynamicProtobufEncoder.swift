#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
package import River
import SwiftProtobuf

/// Protobuf's canonical JSON mapping → binary, for a message of a descriptor set, without
/// generated types (what grpcurl does with `-protoset`).
///
/// Accepts field JSON names and proto names; 64-bit integers as numbers or strings; enums by
/// name or number; bytes as (URL-safe or standard) base64; `null` for "not set"; `map<K, V>`
/// as objects. Well-known types are taken in their plain message form (their special JSON
/// forms, such as RFC 3339 timestamps, are not supported).
package struct DynamicProtobufEncoder: Sendable {
    /// The descriptors messages are looked up in.
    package let pool: ProtobufDescriptorPool

    /// Creates an encoder.
    package init(pool: ProtobufDescriptorPool) {
        self.pool = pool
    }

    /// Encodes `value` (parsed JSON) as the message `typeName`.
    /// - Throws: ``DynamicProtobufError`` naming the field path of a value that does not fit.
    package func encode(_ value: RiverValue, as typeName: String) throws(DynamicProtobufError) -> [UInt8] {
        try encode(value, message: pool.message(typeName), path: try pool.message(typeName).fullName, depth: 0)
    }

    private func encode(
        _ value: RiverValue, message: ProtobufDescriptorPool.Message, path: String, depth: Int
    ) throws(DynamicProtobufError) -> [UInt8] {
        guard depth < 100 else { throw DynamicProtobufError("\(path): nested deeper than 100 messages") }
        if case .null = value { return [] }
        guard case .object(let object) = value else {
            throw DynamicProtobufError("\(path): expected a JSON object for \(message.fullName), got \(value.kindName)")
        }
        var fields: [(Google_Protobuf_FieldDescriptorProto, RiverValue)] = []
        for (key, fieldValue) in object {
            guard let field = message.descriptor.field.first(where: { $0.jsonNameOrDefault == key || $0.name == key }) else {
                throw DynamicProtobufError("\(path): \(message.fullName) has no field '\(key)'")
            }
            fields.append((field, fieldValue))
        }
        var writer = ProtobufWireWriter()
        for (field, fieldValue) in fields.sorted(by: { $0.0.number < $1.0.number }) {
            try write(fieldValue, field: field, in: message, to: &writer, path: "\(path).\(field.jsonNameOrDefault)", depth: depth)
        }
        return writer.bytes
    }

    private func write(
        _ value: RiverValue, field: Google_Protobuf_FieldDescriptorProto, in message: ProtobufDescriptorPool.Message,
        to writer: inout ProtobufWireWriter, path: String, depth: Int
    ) throws(DynamicProtobufError) {
        if case .null = value { return }
        if field.isRepeated, field.type == .message, let entry = try? pool.message(field.typeName), entry.isMapEntry {
            guard case .object(let entries) = value else { throw DynamicProtobufError("\(path): expected an object for a map, got \(value.kindName)") }
            guard let keyField = entry.descriptor.field.first(where: { $0.number == 1 }),
                let valueField = entry.descriptor.field.first(where: { $0.number == 2 })
            else { throw DynamicProtobufError("\(path): malformed map entry \(entry.fullName)") }
            for (key, element) in entries.sorted(by: { $0.key < $1.key }) {
                var body = ProtobufWireWriter()
                try writeSingle(mapKey(key, keyField, path: path), field: keyField, to: &body, path: "\(path)[\(key)]", depth: depth)
                try writeSingle(element, field: valueField, to: &body, path: "\(path)[\(key)]", depth: depth)
                writer.tag(field.number, wireType: 2)
                writer.lengthDelimited(body.bytes)
            }
            return
        }
        if field.isRepeated {
            guard case .array(let elements) = value else { throw DynamicProtobufError("\(path): expected an array, got \(value.kindName)") }
            let packable = ![.string, .bytes, .message, .group].contains(field.type)
            if packable, message.isProto3 ? field.options.packed || !field.options.hasPacked : field.options.packed {
                guard !elements.isEmpty else { return }
                var body = ProtobufWireWriter()
                for (index, element) in elements.enumerated() {
                    try writeScalar(element, field: field, to: &body, path: "\(path)[\(index)]")
                }
                writer.tag(field.number, wireType: 2)
                writer.lengthDelimited(body.bytes)
            } else {
                for (index, element) in elements.enumerated() {
                    try writeSingle(element, field: field, to: &writer, path: "\(path)[\(index)]", depth: depth)
                }
            }
            return
        }
        if field.hasImplicitPresence(proto3: message.isProto3), isDefault(value, field) { return }
        try writeSingle(value, field: field, to: &writer, path: path, depth: depth)
    }

    /// One value with its tag.
    private func writeSingle(
        _ value: RiverValue, field: Google_Protobuf_FieldDescriptorProto, to writer: inout ProtobufWireWriter, path: String, depth: Int
    ) throws(DynamicProtobufError) {
        switch field.type {
        case .message, .group:
            let body = try encode(value, message: pool.message(field.typeName), path: path, depth: depth + 1)
            writer.tag(field.number, wireType: 2)
            writer.lengthDelimited(body)
        case .string:
            guard case .string(let text) = value else { throw DynamicProtobufError("\(path): expected a string, got \(value.kindName)") }
            writer.tag(field.number, wireType: 2)
            writer.lengthDelimited(Array(text.utf8))
        case .bytes:
            writer.tag(field.number, wireType: 2)
            writer.lengthDelimited(try base64(value, path: path))
        default:
            writer.tag(field.number, wireType: Self.wireType(field.type))
            try writeScalar(value, field: field, to: &writer, path: path)
        }
    }

    /// A numeric, boolean or enum value without its tag.
    private func writeScalar(
        _ value: RiverValue, field: Google_Protobuf_FieldDescriptorProto, to writer: inout ProtobufWireWriter, path: String
    ) throws(DynamicProtobufError) {
        switch field.type {
        case .double: writer.fixed64(try double(value, path: path).bitPattern)
        case .float: writer.fixed32(Float(try double(value, path: path)).bitPattern)
        case .int64: writer.varint(UInt64(bitPattern: try integer(value, Int64.self, path: path)))
        case .uint64: writer.varint(try integer(value, UInt64.self, path: path))
        case .int32: writer.varint(UInt64(bitPattern: Int64(try integer(value, Int32.self, path: path))))
        case .fixed64: writer.fixed64(try integer(value, UInt64.self, path: path))
        case .fixed32: writer.fixed32(try integer(value, UInt32.self, path: path))
        case .bool:
            guard case .bool(let flag) = value else { throw DynamicProtobufError("\(path): expected true or false, got \(value.kindName)") }
            writer.varint(flag ? 1 : 0)
        case .uint32: writer.varint(UInt64(try integer(value, UInt32.self, path: path)))
        case .enum: writer.varint(UInt64(bitPattern: Int64(try enumNumber(value, field, path: path))))
        case .sfixed32: writer.fixed32(UInt32(bitPattern: try integer(value, Int32.self, path: path)))
        case .sfixed64: writer.fixed64(UInt64(bitPattern: try integer(value, Int64.self, path: path)))
        case .sint32:
            let n = try integer(value, Int32.self, path: path)
            writer.varint(UInt64(UInt32(bitPattern: (n << 1) ^ (n >> 31))))
        case .sint64:
            let n = try integer(value, Int64.self, path: path)
            writer.varint(UInt64(bitPattern: (n << 1) ^ (n >> 63)))
        case .string, .bytes, .message, .group:
            throw DynamicProtobufError("\(path): \(field.type) cannot be packed")
        }
    }

    static func wireType(_ type: Google_Protobuf_FieldDescriptorProto.TypeEnum) -> UInt64 {
        switch type {
        case .double, .fixed64, .sfixed64: 1
        case .float, .fixed32, .sfixed32: 5
        case .string, .bytes, .message, .group: 2
        default: 0
        }
    }

    private func isDefault(_ value: RiverValue, _ field: Google_Protobuf_FieldDescriptorProto) -> Bool {
        switch value {
        case .bool(let flag): return !flag
        case .int(let n): return n == 0
        case .double(let d): return d == 0 && d.sign == .plus
        case .string(let text):
            switch field.type {
            case .string, .bytes: return text.isEmpty
            case .enum: return pool.enumeration(field.typeName)?.value.first?.name == text
            default: return text == "0"
            }
        default: return false
        }
    }

    private func integer<T: FixedWidthInteger>(_ value: RiverValue, _: T.Type, path: String) throws(DynamicProtobufError) -> T {
        let parsed: T?
        switch value {
        case .int(let n): parsed = T(exactly: n)
        case .double(let d): parsed = d.rounded(.towardZero) == d ? T(exactly: d) : nil
        case .bigInt(let text), .string(let text): parsed = T(text)
        default: parsed = nil
        }
        guard let parsed else { throw DynamicProtobufError("\(path): expected an integer that fits \(T.self), got \(JSONish(value))") }
        return parsed
    }

    private func double(_ value: RiverValue, path: String) throws(DynamicProtobufError) -> Double {
        switch value {
        case .int(let n): return Double(n)
        case .double(let d): return d
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case .string(let text): if let d = Double(text) { return d }
        default: break
        }
        throw DynamicProtobufError("\(path): expected a number, got \(JSONish(value))")
    }

    private func enumNumber(_ value: RiverValue, _ field: Google_Protobuf_FieldDescriptorProto, path: String) throws(DynamicProtobufError) -> Int32 {
        if case .string(let name) = value {
            guard let number = pool.enumeration(field.typeName)?.value.first(where: { $0.name == name })?.number else {
                throw DynamicProtobufError("\(path): \(field.typeName.dropFirst()) has no value \(name)")
            }
            return number
        }
        return try integer(value, Int32.self, path: path)
    }

    private func base64(_ value: RiverValue, path: String) throws(DynamicProtobufError) -> [UInt8] {
        if case .bytes(let bytes) = value { return bytes }
        guard case .string(var text) = value else { throw DynamicProtobufError("\(path): expected base64 text, got \(value.kindName)") }
        // Base64url's two letters as standard base64's (proto3 JSON accepts both alphabets).
        text = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while text.utf8.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text) else { throw DynamicProtobufError("\(path): not valid base64") }
        return [UInt8](data)
    }

    /// A map key (always a JSON string) as the value its key field's type takes.
    private func mapKey(_ key: String, _ field: Google_Protobuf_FieldDescriptorProto, path: String) throws(DynamicProtobufError) -> RiverValue {
        switch field.type {
        case .string: return .string(key)
        case .bool:
            guard key == "true" || key == "false" else { throw DynamicProtobufError("\(path): map key '\(key)' is not a boolean") }
            return .bool(key == "true")
        default: return .string(key)
        }
    }
}

/// A short rendering of a value for error messages.
private func JSONish(_ value: RiverValue) -> String {
    switch value {
    case .string(let text): "\"\(text)\""
    case .int(let n): String(n)
    case .double(let d): String(d)
    case .bigInt(let text): text
    default: value.kindName
    }
}

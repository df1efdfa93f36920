#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
package import River
import SwiftProtobuf

/// Protobuf binary → canonical JSON, for a message of a descriptor set, without generated types.
///
/// Fields are named by their JSON names; fields left at their default are omitted (as
/// protobuf's JSON printers do by default); 64-bit integers are strings; enums their value
/// names (numbers when unknown); bytes standard base64; maps objects. Unknown fields are
/// skipped.
package struct DynamicProtobufDecoder: Sendable {
    /// The descriptors messages are looked up in.
    package let pool: ProtobufDescriptorPool

    /// Creates a decoder.
    package init(pool: ProtobufDescriptorPool) {
        self.pool = pool
    }

    /// Decodes `bytes` as the message `typeName`.
    /// - Throws: ``DynamicProtobufError`` for malformed bytes or a wire type that does not fit
    ///   the field.
    package func decode(_ bytes: [UInt8], as typeName: String) throws(DynamicProtobufError) -> RiverValue {
        try decode(bytes, message: pool.message(typeName), depth: 0)
    }

    private func decode(_ bytes: [UInt8], message: ProtobufDescriptorPool.Message, depth: Int) throws(DynamicProtobufError) -> RiverValue {
        guard depth < 100 else { throw DynamicProtobufError("\(message.fullName): nested deeper than 100 messages") }
        var reader = ProtobufWireReader(bytes: bytes)
        var object: [String: RiverValue] = [:]
        var repeated: [String: [RiverValue]] = [:]
        var maps: [String: [String: RiverValue]] = [:]
        while !reader.isAtEnd {
            let key = try reader.varint()
            let number = Int32(truncatingIfNeeded: key >> 3)
            let wireType = key & 7
            guard let field = message.descriptor.field.first(where: { $0.number == number }) else {
                try reader.skip(wireType: wireType)
                continue
            }
            let name = field.jsonNameOrDefault
            if field.isRepeated, field.type == .message, let entry = try? pool.message(field.typeName), entry.isMapEntry {
                guard wireType == 2 else { throw mismatch(field, wireType, message) }
                let pair = try decode(try reader.lengthDelimited(), message: entry, depth: depth + 1)
                let keyField = entry.descriptor.field.first(where: { $0.number == 1 })
                let valueField = entry.descriptor.field.first(where: { $0.number == 2 })
                let keyName: String = keyField.map(\.jsonNameOrDefault) ?? "key"
                let valueName: String = valueField.map(\.jsonNameOrDefault) ?? "value"
                let mapKey: String
                switch pair[keyName] {
                case .string(let text)?: mapKey = text
                case .int(let n)?: mapKey = String(n)
                case .bool(let flag)?: mapKey = String(flag)
                default: mapKey = keyField?.type == .bool ? "false" : keyField?.type == .string ? "" : "0"
                }
                maps[name, default: [:]][mapKey] = pair[valueName] ?? defaultValue(valueField)
                continue
            }
            if field.isRepeated, wireType == 2, Self.isPackable(field.type) {
                var packed = ProtobufWireReader(bytes: try reader.lengthDelimited())
                while !packed.isAtEnd { repeated[name, default: []].append(try scalar(&packed, field: field)) }
                continue
            }
            guard wireType == DynamicProtobufEncoder.wireType(field.type) else { throw mismatch(field, wireType, message) }
            let value: RiverValue
            switch field.type {
            case .message, .group: value = try decode(try reader.lengthDelimited(), message: pool.message(field.typeName), depth: depth + 1)
            case .string:
                guard let text = String(validating: try reader.lengthDelimited(), as: UTF8.self) else {
                    throw DynamicProtobufError("\(message.fullName).\(name): not valid UTF-8")
                }
                value = .string(text)
            case .bytes: value = .string(Data(try reader.lengthDelimited()).base64EncodedString())
            default: value = try scalar(&reader, field: field)
            }
            if field.isRepeated {
                repeated[name, default: []].append(value)
            } else if field.hasImplicitPresence(proto3: message.isProto3), isDefault(value) {
                object.removeValue(forKey: name)
            } else {
                object[name] = value
            }
        }
        for (name, values) in repeated { object[name] = .array(values) }
        for (name, entries) in maps { object[name] = .object(entries) }
        return .object(object)
    }

    private static func isPackable(_ type: Google_Protobuf_FieldDescriptorProto.TypeEnum) -> Bool {
        ![.string, .bytes, .message, .group].contains(type)
    }

    private func scalar(_ reader: inout ProtobufWireReader, field: Google_Protobuf_FieldDescriptorProto) throws(DynamicProtobufError) -> RiverValue {
        switch field.type {
        case .double: return floating(Double(bitPattern: try reader.fixed64()))
        case .float: return floating(Double(Float(bitPattern: try reader.fixed32())))
        case .int64: return .string(String(Int64(bitPattern: try reader.varint())))
        case .uint64: return .string(String(try reader.varint()))
        case .int32: return .int(Int64(Int32(truncatingIfNeeded: try reader.varint())))
        case .fixed64: return .string(String(try reader.fixed64()))
        case .fixed32: return .int(Int64(try reader.fixed32()))
        case .bool: return .bool(try reader.varint() != 0)
        case .uint32: return .int(Int64(UInt32(truncatingIfNeeded: try reader.varint())))
        case .enum:
            let number = Int32(truncatingIfNeeded: try reader.varint())
            if let name = pool.enumeration(field.typeName)?.value.first(where: { $0.number == number })?.name { return .string(name) }
            return .int(Int64(number))
        case .sfixed32: return .int(Int64(Int32(bitPattern: try reader.fixed32())))
        case .sfixed64: return .string(String(Int64(bitPattern: try reader.fixed64())))
        case .sint32:
            let raw = UInt32(truncatingIfNeeded: try reader.varint())
            return .int(Int64(Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))))
        case .sint64:
            let raw = try reader.varint()
            return .string(String(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))))
        case .string, .bytes, .message, .group:
            throw DynamicProtobufError("\(field.name): \(field.type) cannot be packed")
        }
    }

    private func floating(_ value: Double) -> RiverValue {
        if value.isNaN { return .string("NaN") }
        if value.isInfinite { return .string(value > 0 ? "Infinity" : "-Infinity") }
        return .double(value)
    }

    private func isDefault(_ value: RiverValue) -> Bool {
        switch value {
        case .bool(let flag): !flag
        case .int(let n): n == 0
        case .double(let d): d == 0 && d.sign == .plus
        case .string(let text): text.isEmpty || text == "0"
        default: false
        }
    }

    private func defaultValue(_ field: Google_Protobuf_FieldDescriptorProto?) -> RiverValue {
        switch field?.type {
        case .string?, .bytes?: .string("")
        case .bool?: .bool(false)
        case .message?, .group?: .object([:])
        case .int64?, .uint64?, .fixed64?, .sfixed64?, .sint64?: .string("0")
        default: .int(0)
        }
    }

    private func mismatch(_ field: Google_Protobuf_FieldDescriptorProto, _ wireType: UInt64, _ message: ProtobufDescriptorPool.Message) -> DynamicProtobufError {
        DynamicProtobufError("\(message.fullName).\(field.name): wire type \(wireType) does not fit a \(field.type) field")
    }
}

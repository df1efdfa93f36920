package import SwiftProtobuf

/// The messages, enums and services of a descriptor set (`protoc --descriptor_set_out
/// --include_imports`), by full name: what the CLI needs to call protobuf services without
/// generated types.
package struct ProtobufDescriptorPool: Sendable {
    /// A message with what encoding it needs to know about its file.
    package struct Message: Sendable {
        /// The full name without the leading dot (`river.test.EchoRequest`).
        package let fullName: String
        /// The descriptor.
        package let descriptor: Google_Protobuf_DescriptorProto
        /// Whether its file is proto3 (packed repeated scalars, implicit presence).
        package let isProto3: Bool

        /// Whether it is the synthetic entry message of a `map<K, V>` field.
        package var isMapEntry: Bool { descriptor.options.mapEntry }
    }

    /// A service and its methods.
    package struct Service: Sendable {
        /// The full name (`river.test.TestService`), River's service name.
        package let fullName: String
        /// The descriptor.
        package let descriptor: Google_Protobuf_ServiceDescriptorProto
    }

    /// Messages by full name.
    package private(set) var messages: [String: Message] = [:]
    /// Enums by full name.
    package private(set) var enums: [String: Google_Protobuf_EnumDescriptorProto] = [:]
    /// Services by full name, in the order of the set.
    package private(set) var services: [Service] = []

    /// Indexes the files of a descriptor set.
    package init(files: [Google_Protobuf_FileDescriptorProto]) {
        for file in files {
            let proto3 = file.syntax == "proto3"
            let prefix = file.package.isEmpty ? "" : file.package + "."
            func add(_ message: Google_Protobuf_DescriptorProto, scope: String) {
                let name = scope + message.name
                messages[name] = Message(fullName: name, descriptor: message, isProto3: proto3)
                for nested in message.nestedType { add(nested, scope: name + ".") }
                for nested in message.enumType { enums[name + "." + nested.name] = nested }
            }
            for message in file.messageType { add(message, scope: prefix) }
            for enumeration in file.enumType { enums[prefix + enumeration.name] = enumeration }
            for service in file.service { services.append(Service(fullName: prefix + service.name, descriptor: service)) }
        }
    }

    /// Reads a serialized `FileDescriptorSet`.
    /// - Throws: ``DynamicProtobufError`` when the bytes are not a descriptor set.
    package init(descriptorSet bytes: [UInt8]) throws(DynamicProtobufError) {
        do {
            self.init(files: try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes).file)
        } catch {
            throw DynamicProtobufError("not a protobuf FileDescriptorSet (make one with protoc --descriptor_set_out --include_imports): \(error)")
        }
    }

    /// The message named `name` (with or without the leading dot).
    /// - Throws: ``DynamicProtobufError`` when the set does not declare it.
    package func message(_ name: String) throws(DynamicProtobufError) -> Message {
        let key = name.hasPrefix(".") ? String(name.dropFirst()) : name
        guard let message = messages[key] else {
            throw DynamicProtobufError("the descriptor set has no message \(key) (was it built with --include_imports?)")
        }
        return message
    }

    /// The enum named `name` (with or without the leading dot), if declared.
    package func enumeration(_ name: String) -> Google_Protobuf_EnumDescriptorProto? {
        enums[name.hasPrefix(".") ? String(name.dropFirst()) : name]
    }
}

/// A JSON value or protobuf bytes that do not fit a message of a descriptor set.
package struct DynamicProtobufError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, naming the field path.
    package var message: String
    /// Creates an error.
    package init(_ message: String) { self.message = message }
    /// The message.
    package var description: String { message }
}

extension Google_Protobuf_FieldDescriptorProto {
    /// The field's JSON name (protoc fills `json_name` in descriptor sets; lowerCamelCase otherwise).
    var jsonNameOrDefault: String {
        if hasJsonName { return jsonName }
        var result = ""
        var upperNext = false
        for character in name {
            if character == "_" {
                upperNext = true
            } else {
                result += upperNext ? character.uppercased() : String(character)
                upperNext = false
            }
        }
        return result
    }

    var isRepeated: Bool { label == .repeated }

    /// Whether a default value is left off the wire (proto3 fields without `optional`,
    /// outside a oneof, that are not messages).
    func hasImplicitPresence(proto3: Bool) -> Bool {
        proto3 && !isRepeated && type != .message && type != .group && !hasOneofIndex && !proto3Optional
    }
}

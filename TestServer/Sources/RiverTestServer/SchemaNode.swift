import River

/// The JSON-schema subset the reference test services use (TypeBox 1.x output), used both to
/// print River's serialized schema and to validate request payloads the way the reference
/// server's `Value.Check`/`Value.Errors` do.
indirect enum SchemaNode: Sendable {
    /// `{type: "object", required?, properties}`; `required` lists the non-optional keys.
    case object(properties: [(String, SchemaNode)], required: [String])
    /// `{type: "string"}`.
    case string
    /// `{type: "number"}`.
    case number
    /// `{type: "boolean"}`.
    case boolean
    /// `{type: "Uint8Array"}` (River's custom bytes schema).
    case bytes
    /// `{type: "array", items}`.
    case array(SchemaNode)
    /// `{type: "string", const}`.
    case stringLiteral(String)
    /// `{$defs: {name: definition}, $ref: name}`: a named, possibly recursive definition.
    case definitions(name: String, definition: SchemaNode)
    /// `{$ref: name}` pointing at the nearest enclosing ``definitions(name:definition:)``.
    case reference(String)

    /// The node in River's serialized-schema form (TypeBox 1.x JSON).
    var serialized: RiverValue {
        switch self {
        case .object(let properties, let required):
            var fields: [String: RiverValue] = [
                "type": "object",
                "properties": .object(Dictionary(uniqueKeysWithValues: properties.map { ($0.0, $0.1.serialized) })),
            ]
            if !required.isEmpty { fields["required"] = .array(required.map { .string($0) }) }
            return .object(fields)
        case .string: return ["type": "string"]
        case .number: return ["type": "number"]
        case .boolean: return ["type": "boolean"]
        case .bytes: return ["type": "Uint8Array"]
        case .array(let items): return ["type": "array", "items": items.serialized]
        case .stringLiteral(let value): return ["type": "string", "const": .string(value)]
        case .definitions(let name, let definition):
            var body = definition.serialized.objectValue ?? [:]
            body["$id"] = .string(name)
            return ["$defs": .object([name: .object(body)]), "$ref": .string(name)]
        case .reference(let name): return ["$ref": .string(name)]
        }
    }
}

/// One validation failure, as River reports it in `INVALID_REQUEST` extras.
struct SchemaValidationError: Sendable, Hashable {
    /// JSON pointer of the offending value (`/msg`), empty for the root.
    var path: String
    /// TypeBox's English message (`must be string`).
    var message: String

    /// `{path, message}`.
    var value: RiverValue { ["path": .string(path), "message": .string(message)] }
}

extension SchemaNode {
    /// Whether `value` conforms (TypeBox `Value.Check`).
    func check(_ value: RiverValue) -> Bool { errors(of: value).isEmpty }

    /// Every failure of `value` against this schema (TypeBox `Value.Errors`, English locale).
    func errors(of value: RiverValue) -> [SchemaValidationError] {
        var errors: [SchemaValidationError] = []
        collect(value, path: { "" }, definitions: [:], into: &errors, depth: 0)
        return errors
    }

    private func collect(
        _ value: RiverValue,
        path: () -> String,
        definitions: [String: SchemaNode],
        into errors: inout [SchemaValidationError],
        depth: Int
    ) {
        // Hostile input cannot recurse deeper than the payload itself, but cap it anyway.
        // `path` is built only when an error is recorded: valid payloads (every call of a
        // benchmark) allocate no strings.
        guard depth < 256 else {
            errors.append(SchemaValidationError(path: path(), message: "exceeds maximum depth"))
            return
        }
        switch self {
        case .object(let properties, let required):
            guard case .object(let fields) = value else {
                errors.append(SchemaValidationError(path: path(), message: "must be object"))
                return
            }
            if required.contains(where: { fields[$0] == nil }) {
                let missing = required.filter { fields[$0] == nil }
                errors.append(
                    SchemaValidationError(path: path(), message: "must have required properties \(missing.joined(separator: ", "))"))
            }
            for (key, schema) in properties {
                guard let field = fields[key] else { continue }
                schema.collect(field, path: { path() + "/" + escapePointer(key) }, definitions: definitions, into: &errors, depth: depth + 1)
            }
        case .string:
            if case .string = value { return }
            errors.append(SchemaValidationError(path: path(), message: "must be string"))
        case .number:
            switch value {
            case .int: return
            case .double(let d) where d.isFinite: return
            default: errors.append(SchemaValidationError(path: path(), message: "must be number"))
            }
        case .boolean:
            if case .bool = value { return }
            errors.append(SchemaValidationError(path: path(), message: "must be boolean"))
        case .bytes:
            if case .bytes = value { return }
            errors.append(SchemaValidationError(path: path(), message: "must be Uint8Array"))
        case .array(let items):
            guard case .array(let elements) = value else {
                errors.append(SchemaValidationError(path: path(), message: "must be array"))
                return
            }
            for (index, element) in elements.enumerated() {
                items.collect(element, path: { path() + "/\(index)" }, definitions: definitions, into: &errors, depth: depth + 1)
            }
        case .stringLiteral(let expected):
            if case .string(let s) = value, s == expected { return }
            errors.append(SchemaValidationError(path: path(), message: "must be equal to constant"))
        case .definitions(let name, let definition):
            var scope = definitions
            scope[name] = definition
            definition.collect(value, path: path, definitions: scope, into: &errors, depth: depth + 1)
        case .reference(let name):
            guard let definition = definitions[name] else {
                errors.append(SchemaValidationError(path: path(), message: "unresolved reference \(name)"))
                return
            }
            definition.collect(value, path: path, definitions: definitions, into: &errors, depth: depth + 1)
        }
    }

    private func escapePointer(_ key: String) -> String {
        key.replacing("~", with: "~0").replacing("/", with: "~1")
    }
}

extension SchemaNode {
    /// `Type.Object` with every property required.
    static func obj(_ properties: (String, SchemaNode)...) -> SchemaNode {
        .object(properties: properties, required: properties.map(\.0))
    }

    /// `Type.Object` with the given optional keys left out of `required`.
    static func obj(_ properties: [(String, SchemaNode)], optional: Set<String>) -> SchemaNode {
        .object(properties: properties, required: properties.map(\.0).filter { !optional.contains($0) })
    }

    /// `Type.Object({})`.
    static let empty = SchemaNode.object(properties: [], required: [])
}

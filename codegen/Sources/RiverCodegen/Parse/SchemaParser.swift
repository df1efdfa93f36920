/// The parse stage: River serialized schema JSON → ``RiverSchema``.
///
/// Accepts both TypeBox dialects River has shipped (0.34's inline `$id`/`$ref` recursion and
/// 1.x's `$defs`/`$ref`). Anything the generator could not represent faithfully is rejected
/// here, with the node's JSON path, rather than degraded to an untyped value.
public struct SchemaParser: Sendable {
    /// Creates a parser.
    public init() {}

    /// Parses a serialized schema document.
    /// - Parameter bytes: The UTF-8 JSON text.
    /// - Returns: The parsed schema.
    /// - Throws: ``CodegenError`` naming the JSON path of the first problem.
    public func parse(_ bytes: [UInt8]) throws -> RiverSchema {
        try parse(JSONValue.parse(bytes))
    }

    /// Parses a serialized schema document.
    /// - Parameter document: The document.
    /// - Returns: The parsed schema.
    /// - Throws: ``CodegenError`` naming the JSON path of the first problem.
    public func parse(_ document: JSONValue) throws -> RiverSchema {
        guard document.objectMembers != nil else {
            throw CodegenError(path: "", message: "the schema document is not a JSON object")
        }
        guard let servicesMembers = document["services"]?.objectMembers else {
            throw CodegenError(path: "services", message: "missing or not an object")
        }
        var services: [RiverSchema.Service] = []
        for (serviceName, serviceValue) in servicesMembers {
            let servicePath = "services.\(serviceName)"
            guard let procedureMembers = serviceValue["procedures"]?.objectMembers else {
                throw CodegenError(path: servicePath + ".procedures", message: "missing or not an object")
            }
            var procedures: [RiverSchema.Procedure] = []
            for (procedureName, procedureValue) in procedureMembers {
                procedures.append(try parseProcedure(procedureValue, name: procedureName, path: "\(servicePath).procedures.\(procedureName)"))
            }
            services.append(.init(name: serviceName, procedures: procedures, path: servicePath))
        }
        let handshake = try document["handshakeSchema"].map { try parseSchema($0, path: "handshakeSchema") }
        return RiverSchema(services: services, handshakeSchema: handshake)
    }

    func parseProcedure(_ value: JSONValue, name: String, path: String) throws -> RiverSchema.Procedure {
        guard value.objectMembers != nil else { throw CodegenError(path: path, message: "a procedure must be an object") }
        guard let typeName = value["type"]?.stringValue else {
            throw CodegenError(path: path + ".type", message: "missing procedure type")
        }
        guard let kind = RiverSchema.Kind(rawValue: typeName) else {
            throw CodegenError(path: path + ".type", message: "unknown procedure type \"\(typeName)\" (expected rpc, upload, subscription or stream)")
        }
        guard let initValue = value["init"] else { throw CodegenError(path: path + ".init", message: "missing init schema") }
        guard let outputValue = value["output"] else { throw CodegenError(path: path + ".output", message: "missing output schema") }
        let input: JSONSchema?
        switch kind {
        case .upload, .stream:
            guard let inputValue = value["input"] else {
                throw CodegenError(path: path + ".input", message: "a \(typeName) procedure needs an input schema")
            }
            input = try parseSchema(inputValue, path: path + ".input")
        case .rpc, .subscription:
            input = nil
        }
        return RiverSchema.Procedure(
            name: name,
            kind: kind,
            initSchema: try parseSchema(initValue, path: path + ".init"),
            input: input,
            output: try parseSchema(outputValue, path: path + ".output"),
            errors: try value["errors"].map { try parseSchema($0, path: path + ".errors") },
            description: value["description"]?.stringValue,
            path: path
        )
    }

    /// Keywords that only annotate a schema; a node made of nothing else accepts any value.
    static let annotationKeywords: Set<String> = ["description", "title", "$id", "$defs", "$schema", "examples", "default", "readOnly", "writeOnly", "deprecated", "$comment"]

    /// Parses one schema node.
    /// - Parameters:
    ///   - value: The node's JSON.
    ///   - path: Its dotted JSON path.
    /// - Returns: The node.
    /// - Throws: ``CodegenError`` for constructs the generator does not support.
    public func parseSchema(_ value: JSONValue, path: String) throws -> JSONSchema {
        guard let members = value.objectMembers else {
            throw CodegenError(path: path, message: "a schema must be a JSON object")
        }
        var definitions: [JSONSchema.Definition] = []
        if let defs = value["$defs"] {
            guard let defMembers = defs.objectMembers else { throw CodegenError(path: path + ".$defs", message: "must be an object") }
            for (name, defValue) in defMembers {
                definitions.append(.init(name: name, schema: try parseSchema(defValue, path: "\(path).$defs.\(name)")))
            }
        }
        let kind = try parseKind(value, members: members, path: path)
        return JSONSchema(
            path: path,
            kind: kind,
            description: value["description"]?.stringValue,
            id: value["$id"]?.stringValue,
            definitions: definitions,
            canonicalText: value.canonicalText
        )
    }

    func parseKind(_ value: JSONValue, members: [(key: String, value: JSONValue)], path: String) throws -> JSONSchema.Kind {
        if let ref = value["$ref"] {
            guard let name = ref.stringValue else { throw CodegenError(path: path + ".$ref", message: "must be a string") }
            // Accept JSON-pointer spellings too, resolving them by their last component.
            if name.hasPrefix("#/$defs/") { return .ref(String(name.dropFirst("#/$defs/".count))) }
            if name.hasPrefix("#/definitions/") { return .ref(String(name.dropFirst("#/definitions/".count))) }
            return .ref(name)
        }
        if let not = value["not"] {
            guard not.objectMembers?.isEmpty == true else {
                throw CodegenError(path: path + ".not", message: "unsupported: only `not: {}` (never) is supported")
            }
            return .never
        }
        if let constant = value["const"] {
            guard let string = constant.stringValue else {
                throw CodegenError(path: path + ".const", message: "unsupported: only string const literals are supported, got \(constant.canonicalText)")
            }
            return .constant(string)
        }
        if let enumValue = value["enum"] {
            guard case .array(let items) = enumValue, !items.isEmpty else {
                throw CodegenError(path: path + ".enum", message: "must be a non-empty array")
            }
            var strings: [String] = []
            for (index, item) in items.enumerated() {
                guard let string = item.stringValue else {
                    throw CodegenError(path: "\(path).enum.\(index)", message: "unsupported: only string enum values are supported, got \(item.canonicalText)")
                }
                if !strings.contains(string) { strings.append(string) }
            }
            return .enumeration(strings)
        }
        for keyword in ["anyOf", "oneOf", "allOf"] {
            guard let list = value[keyword] else { continue }
            guard case .array(let items) = list else {
                throw CodegenError(path: "\(path).\(keyword)", message: "must be an array")
            }
            // An empty union matches nothing; an empty intersection, anything.
            if items.isEmpty { return keyword == "allOf" ? .any : .never }
            let schemas = try items.enumerated().map { try parseSchema($0.element, path: "\(path).\(keyword).\($0.offset)") }
            return keyword == "allOf" ? .allOf(schemas) : .anyOf(schemas)
        }
        guard let type = value["type"] else {
            if members.allSatisfy({ SchemaParser.annotationKeywords.contains($0.key) }) { return .any }
            let keys = members.map(\.key).filter { !SchemaParser.annotationKeywords.contains($0) }
            throw CodegenError(path: path, message: "unsupported schema without a type (keywords: \(keys.joined(separator: ", ")))")
        }
        if case .array(let typeNames) = type {
            // `{"type": ["string", "null"]}`: a union of simple types.
            var alternatives: [JSONSchema] = []
            for (index, typeName) in typeNames.enumerated() {
                guard let name = typeName.stringValue, name != "object", name != "array" else {
                    throw CodegenError(path: "\(path).type.\(index)", message: "unsupported: type lists may only name simple types")
                }
                alternatives.append(try parseSchema(.object([("type", .string(name))]), path: "\(path).type.\(index)"))
            }
            return .anyOf(alternatives)
        }
        guard let typeName = type.stringValue else { throw CodegenError(path: path + ".type", message: "must be a string") }
        switch typeName {
        case "string": return .string
        case "number": return .number
        case "integer": return .integer
        case "boolean": return .boolean
        case "null": return .null
        case "Uint8Array": return .bytes
        case "Date": return .date
        case "array":
            guard let items = value["items"] else {
                throw CodegenError(path: path + ".items", message: "unsupported: an array without items")
            }
            guard items.objectMembers != nil else {
                throw CodegenError(path: path + ".items", message: "unsupported: tuple arrays (items must be one schema)")
            }
            return .array(try parseSchema(items, path: path + ".items"))
        case "object":
            if let patterns = value["patternProperties"] {
                guard let patternMembers = patterns.objectMembers, patternMembers.count == 1,
                      let (pattern, valueSchema) = patternMembers.first
                else {
                    throw CodegenError(path: path + ".patternProperties", message: "unsupported: expected exactly one pattern")
                }
                guard pattern == "^(.*)$" || pattern == "^.*$" else {
                    throw CodegenError(path: "\(path).patternProperties.\(pattern)", message: "unsupported record key pattern \(pattern) (only ^(.*)$ and ^.*$)")
                }
                if let properties = value["properties"]?.objectMembers, !properties.isEmpty {
                    throw CodegenError(path: path + ".properties", message: "unsupported: properties next to patternProperties")
                }
                return .record(try parseSchema(valueSchema, path: "\(path).patternProperties.\(pattern)"))
            }
            var required: Set<String> = []
            if let requiredValue = value["required"] {
                guard case .array(let names) = requiredValue else {
                    throw CodegenError(path: path + ".required", message: "must be an array")
                }
                for (index, name) in names.enumerated() {
                    guard let string = name.stringValue else { throw CodegenError(path: "\(path).required.\(index)", message: "must be a string") }
                    required.insert(string)
                }
            }
            var properties: [JSONSchema.Property] = []
            if let propertiesValue = value["properties"] {
                guard let propertyMembers = propertiesValue.objectMembers else {
                    throw CodegenError(path: path + ".properties", message: "must be an object")
                }
                for (name, propertyValue) in propertyMembers {
                    let schema = try parseSchema(propertyValue, path: "\(path).properties.\(name)")
                    properties.append(.init(name: name, schema: schema, isRequired: required.contains(name)))
                }
            }
            return .object(properties)
        default:
            throw CodegenError(path: path + ".type", message: "unsupported type \"\(typeName)\"")
        }
    }
}

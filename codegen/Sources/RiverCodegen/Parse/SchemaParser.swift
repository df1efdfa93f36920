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
        // Absent and `null` both mean the server declares no handshake metadata.
        var handshake: JSONSchema?
        if let value = document["handshakeSchema"], value != .null {
            handshake = try parseSchema(value, path: "handshakeSchema")
        }
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

    /// Validation keywords that the generated Swift types do not check; they are kept as notes
    /// in doc comments.
    static let constraintKeywords: [String] = [
        "format", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "multipleOf", "minItems", "maxItems", "uniqueItems", "contains", "minContains", "maxContains",
        "minProperties", "maxProperties", "minByteLength", "maxByteLength", "minimumTimestamp", "maximumTimestamp",
        "exclusiveMinimumTimestamp", "exclusiveMaximumTimestamp", "multipleOfTimestamp", "not",
    ]

    /// Keywords that make a node without a `type` an object or an array.
    static let objectKeywords: Set<String> = ["properties", "required", "patternProperties", "additionalProperties"]
    static let arrayKeywords: Set<String> = ["items", "prefixItems", "additionalItems"]

    /// Parses one schema node.
    /// - Parameters:
    ///   - value: The node's JSON.
    ///   - path: Its dotted JSON path.
    /// - Returns: The node.
    /// - Throws: ``CodegenError`` for malformed schemas (a keyword of the wrong JSON type, an
    ///   unknown procedure kind); every well-formed schema parses.
    public func parseSchema(_ value: JSONValue, path: String) throws -> JSONSchema {
        guard let members = value.objectMembers else {
            throw CodegenError(path: path, message: "a schema must be a JSON object")
        }
        var definitions: [JSONSchema.Definition] = []
        if let defs = value["$defs"] ?? value["definitions"] {
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
            canonicalText: value.canonicalText,
            notes: notes(value, kind: kind)
        )
    }

    /// The constraint notes of a node: its validation keywords, and a record's key pattern.
    func notes(_ value: JSONValue, kind: JSONSchema.Kind) -> [String] {
        var notes: [String] = []
        for keyword in Self.constraintKeywords {
            guard let constraint = value[keyword] else { continue }
            switch (keyword, kind) {
            case ("minItems", .tuple), ("maxItems", .tuple), ("not", .never): continue
            default: notes.append("\(keyword): \(constraint.stringValue ?? constraint.canonicalText)")
            }
        }
        if let patterns = value["patternProperties"]?.objectMembers {
            for (pattern, _) in patterns where !Self.anyKeyPatterns.contains(pattern) {
                let numeric = pattern.allSatisfy { "^$()[]0123456789-?:.|*+\\d".contains($0) }
                notes.append("keys match \(pattern)" + (numeric ? " (numeric keys, as strings)" : ""))
            }
        }
        return notes
    }

    /// Record key patterns that accept every string.
    static let anyKeyPatterns: Set<String> = ["^(.*)$", "^.*$", ".*", "^(.*)", "(.*)"]

    func parseKind(_ value: JSONValue, members: [(key: String, value: JSONValue)], path: String) throws -> JSONSchema.Kind {
        if let ref = value["$ref"] {
            guard let name = ref.stringValue else { throw CodegenError(path: path + ".$ref", message: "must be a string") }
            // Accept JSON-pointer spellings too, resolving them by their last component.
            if name.hasPrefix("#/$defs/") { return .ref(String(name.dropFirst("#/$defs/".count))) }
            if name.hasPrefix("#/definitions/") { return .ref(String(name.dropFirst("#/definitions/".count))) }
            return .ref(name)
        }
        if let not = value["not"], members.allSatisfy({ $0.key == "not" || Self.annotationKeywords.contains($0.key) }) {
            // `not: {}` matches nothing; `Type.Not(T)` matches every value except T's (noted).
            return not.objectMembers?.isEmpty == true ? .never : .any
        }
        if let constant = value["const"] {
            return literal(constant).map { .constant($0) } ?? .any
        }
        if let enumValue = value["enum"] {
            guard case .array(let items) = enumValue else {
                throw CodegenError(path: path + ".enum", message: "must be an array")
            }
            var literals: [JSONLiteral] = []
            for item in items {
                // An object or array in an enum cannot be a Swift case: the node is kept dynamic.
                guard let literal = literal(item) else { return .any }
                if !literals.contains(literal) { literals.append(literal) }
            }
            return literals.isEmpty ? .never : .enumeration(literals)
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
            if members.contains(where: { Self.objectKeywords.contains($0.key) }) { return try parseObject(value, path: path) }
            if members.contains(where: { Self.arrayKeywords.contains($0.key) }) { return try parseArray(value, path: path) }
            // Only annotations and constraints: any value (the constraints become notes).
            return .any
        }
        if case .array(let typeNames) = type {
            // `{"type": ["string", "null"]}`: a union of simple types.
            var alternatives: [JSONSchema] = []
            for (index, typeName) in typeNames.enumerated() {
                guard let name = typeName.stringValue else {
                    throw CodegenError(path: "\(path).type.\(index)", message: "must be a string")
                }
                var single = value.objectMembers ?? []
                single.removeAll { $0.key == "type" || $0.key == "$id" || $0.key == "$defs" }
                single.append(("type", .string(name)))
                alternatives.append(try parseSchema(.object(single), path: "\(path).type.\(index)"))
            }
            return alternatives.isEmpty ? .never : .anyOf(alternatives)
        }
        guard let typeName = type.stringValue else { throw CodegenError(path: path + ".type", message: "must be a string") }
        switch typeName {
        case "string", "RegExp": return .string
        case "number": return .number
        case "integer": return .integer
        case "bigint": return .bigInt
        case "boolean": return .boolean
        case "null": return .null
        case "undefined", "void": return .undefined
        case "Uint8Array": return .bytes
        case "Date": return .date
        case "array": return try parseArray(value, path: path)
        case "object": return try parseObject(value, path: path)
        default: return .unknown(typeName)
        }
    }

    /// A `const`/`enum` value as a literal; `nil` for objects and arrays.
    func literal(_ value: JSONValue) -> JSONLiteral? {
        switch value {
        case .string(let text): return .string(text)
        case .number(let text): return .number(text)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        case .array, .object: return nil
        }
    }

    func parseArray(_ value: JSONValue, path: String) throws -> JSONSchema.Kind {
        let minItems = value["minItems"].flatMap { Int($0.canonicalText) }
        let maxItems = value["maxItems"].flatMap { Int($0.canonicalText) }
        // TypeBox 1.x tuples: `prefixItems`, with `items: false` (or a rest schema).
        if let prefix = value["prefixItems"] {
            guard case .array(let list) = prefix else { throw CodegenError(path: path + ".prefixItems", message: "must be an array") }
            let items = try list.enumerated().map { try parseSchema($0.element, path: "\(path).prefixItems.\($0.offset)") }
            var rest: JSONSchema?
            if let itemsValue = value["items"], itemsValue.objectMembers != nil {
                rest = try parseSchema(itemsValue, path: path + ".items")
            } else if let additional = value["additionalItems"], additional.objectMembers != nil {
                rest = try parseSchema(additional, path: path + ".additionalItems")
            }
            return .tuple(.init(items: items, requiredCount: min(minItems ?? items.count, items.count), rest: rest))
        }
        guard let itemsValue = value["items"] else {
            // TypeBox's empty tuple has no items at all, only `maxItems: 0`.
            if maxItems == 0 { return .tuple(.init(items: [], requiredCount: 0, rest: nil)) }
            return .array(JSONSchema(path: path + ".items", kind: .any, canonicalText: "{}"))
        }
        switch itemsValue {
        case .array(let list):
            // TypeBox 0.34 tuples: `items` is a list, with `additionalItems: false`.
            let items = try list.enumerated().map { try parseSchema($0.element, path: "\(path).items.\($0.offset)") }
            var rest: JSONSchema?
            if let additional = value["additionalItems"], additional.objectMembers != nil {
                rest = try parseSchema(additional, path: path + ".additionalItems")
            }
            return .tuple(.init(items: items, requiredCount: min(minItems ?? items.count, items.count), rest: rest))
        case .object:
            return .array(try parseSchema(itemsValue, path: path + ".items"))
        case .bool(true):
            return .array(JSONSchema(path: path + ".items", kind: .any, canonicalText: "{}"))
        default:
            throw CodegenError(path: path + ".items", message: "must be a schema or a list of schemas")
        }
    }

    func parseObject(_ value: JSONValue, path: String) throws -> JSONSchema.Kind {
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
        // Values of properties the object does not name: every pattern's schema, and
        // `additionalProperties` when it is `true` or a schema.
        var others: [JSONSchema] = []
        if let patterns = value["patternProperties"] {
            guard let patternMembers = patterns.objectMembers else {
                throw CodegenError(path: path + ".patternProperties", message: "must be an object")
            }
            for (pattern, patternValue) in patternMembers {
                others.append(try parseSchema(patternValue, path: "\(path).patternProperties.\(pattern)"))
            }
        }
        if let additionalValue = value["additionalProperties"] {
            if additionalValue == .bool(true) {
                others.append(JSONSchema(path: path + ".additionalProperties", kind: .any, canonicalText: "{}"))
            } else if additionalValue.objectMembers != nil {
                others.append(try parseSchema(additionalValue, path: path + ".additionalProperties"))
            }
        }
        let additional: JSONSchema?
        switch others.count {
        case 0: additional = nil
        case 1: additional = others[0]
        default:
            additional = JSONSchema(
                path: path + ".patternProperties", kind: .anyOf(others),
                canonicalText: "{\"anyOf\":[" + others.map(\.canonicalText).joined(separator: ",") + "]}"
            )
        }
        if properties.isEmpty, let additional { return .record(additional) }
        return .object(properties, additional: additional)
    }
}

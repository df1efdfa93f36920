import River

/// Checks payloads against the JSON-schema subset River schemas use (TypeBox output):
/// `type` (object, array, string, number, integer, boolean, null, Uint8Array, Date, bigint),
/// `properties`, `required`, `additionalProperties`, `items`, `const`, `enum`, `anyOf`,
/// `oneOf`, `allOf`, and recursion through `$defs`/`$id`/`$ref`. Unknown keywords are ignored.
struct SchemaValidator {
    /// Where and how a value does not match its schema.
    struct Mismatch: Error, Hashable, CustomStringConvertible {
        /// What is wrong with the value.
        enum Problem: Hashable, CustomStringConvertible {
            /// The value is not what the schema allows (`expected number, got string`).
            case expected(String, got: String)
            /// A required property is absent; its expected type when the schema names it.
            case missingProperty(expected: String?)
            /// A property that `additionalProperties: false` forbids.
            case unexpectedProperty

            var description: String {
                switch self {
                case .expected(let expected, let found): "expected \(expected), got \(found)"
                case .missingProperty(let expected?): "missing required property (expected \(expected))"
                case .missingProperty(nil): "missing required property"
                case .unexpectedProperty: "unexpected property"
                }
            }
        }

        /// A JSON pointer to the offending value (`/a/0/b`), empty for the whole value.
        var path: String
        /// What was expected and what was found.
        var problem: Problem

        /// `/path: problem`, or just the problem at the root.
        var description: String { path.isEmpty ? "\(problem)" : "\(path): \(problem)" }
    }

    private static let maximumDepth = 256

    /// Validates `value` against `schema`.
    /// - Parameters:
    ///   - value: The payload.
    ///   - schema: Its JSON schema.
    /// - Returns: The first mismatch found (properties in key order), or `nil` when it matches.
    static func firstMismatch(in value: RiverValue, against schema: RiverValue) -> Mismatch? {
        check(value, schema, path: "", definitions: [:], depth: 0)
    }

    private static func check(
        _ value: RiverValue, _ schema: RiverValue, path: String, definitions: [String: RiverValue], depth: Int
    ) -> Mismatch? {
        guard depth < maximumDepth, case .object(let keywords) = schema else { return nil }
        var definitions = definitions
        if case .object(let defs)? = keywords["$defs"] ?? keywords["definitions"] {
            for (name, definition) in defs { definitions[name] = definition }
        }
        if let id = keywords["$id"]?.stringValue { definitions[id] = schema }
        if let reference = keywords["$ref"]?.stringValue {
            let name = reference.split(separator: "/").last.map(String.init) ?? reference
            guard let target = definitions[reference] ?? definitions[name] else { return nil }
            if let mismatch = check(value, target, path: path, definitions: definitions, depth: depth + 1) { return mismatch }
        }
        if let expected = keywords["const"], !sameValue(value, expected) {
            return Mismatch(path: path, problem: .expected(JSONText.render(expected), got: shortDescription(value)))
        }
        if case .array(let options)? = keywords["enum"], !options.contains(where: { sameValue(value, $0) }) {
            let list = options.map(JSONText.render).joined(separator: ", ")
            return Mismatch(path: path, problem: .expected("one of \(list)", got: shortDescription(value)))
        }
        if let typeMismatch = checkType(value, keywords["type"], path: path) { return typeMismatch }
        for keyword in ["anyOf", "oneOf"] {
            guard case .array(let branches)? = keywords[keyword] else { continue }
            if let mismatch = checkUnion(value, branches, path: path, definitions: definitions, depth: depth) { return mismatch }
        }
        if case .array(let all)? = keywords["allOf"] {
            for branch in all {
                if let mismatch = check(value, branch, path: path, definitions: definitions, depth: depth + 1) { return mismatch }
            }
        }
        switch value {
        case .object(let fields):
            return checkObject(fields, keywords, path: path, definitions: definitions, depth: depth)
        case .array(let elements):
            guard let items = keywords["items"] else { return nil }
            for (index, element) in elements.enumerated() {
                if let mismatch = check(element, items, path: "\(path)/\(index)", definitions: definitions, depth: depth + 1) {
                    return mismatch
                }
            }
            return nil
        default:
            return nil
        }
    }

    private static func checkObject(
        _ fields: [String: RiverValue], _ keywords: [String: RiverValue], path: String,
        definitions: [String: RiverValue], depth: Int
    ) -> Mismatch? {
        let properties = keywords["properties"]?.objectValue ?? [:]
        if case .array(let required)? = keywords["required"] {
            for case .string(let key) in required where fields[key] == nil {
                return Mismatch(path: "\(path)/\(escape(key))", problem: .missingProperty(expected: properties[key].map(TypeSummary.describe)))
            }
        }
        for key in fields.keys.sorted() {
            guard let field = fields[key] else { continue }
            let fieldPath = "\(path)/\(escape(key))"
            if let propertySchema = properties[key] {
                if let mismatch = check(field, propertySchema, path: fieldPath, definitions: definitions, depth: depth + 1) {
                    return mismatch
                }
            } else if let additional = keywords["additionalProperties"] {
                if additional == .bool(false) {
                    return Mismatch(path: fieldPath, problem: .unexpectedProperty)
                }
                if let mismatch = check(field, additional, path: fieldPath, definitions: definitions, depth: depth + 1) {
                    return mismatch
                }
            }
        }
        return nil
    }

    /// A union matches when one branch does. Otherwise the most precise complaint wins: the
    /// error of a branch that got past this level (its discriminating `const` or type
    /// matched); when every branch stopped at the same deeper value (a discriminator such as
    /// an error's `code` matching none of the branches), the alternatives there; else
    /// "expected A | B".
    private static func checkUnion(
        _ value: RiverValue, _ branches: [RiverValue], path: String, definitions: [String: RiverValue], depth: Int
    ) -> Mismatch? {
        var deeper: [Mismatch] = []
        for branch in branches {
            guard let mismatch = check(value, branch, path: path, definitions: definitions, depth: depth + 1) else { return nil }
            if mismatch.path != path { deeper.append(mismatch) }
        }
        if deeper.count == 1, let only = deeper.first { return only }
        if deeper.count == branches.count, let discriminator = Self.commonDiscriminator(deeper) { return discriminator }
        let expected = branches.map(TypeSummary.describe).joined(separator: " | ")
        return Mismatch(path: path, problem: .expected(expected, got: shortDescription(value)))
    }

    /// The mismatches of all branches at one path, each a wrong value, merged into one.
    private static func commonDiscriminator(_ mismatches: [Mismatch]) -> Mismatch? {
        guard let first = mismatches.first, case .expected(_, let found) = first.problem else { return nil }
        var alternatives: [String] = []
        for mismatch in mismatches {
            guard mismatch.path == first.path, case .expected(let expected, found) = mismatch.problem else { return nil }
            if !alternatives.contains(expected) { alternatives.append(expected) }
        }
        return Mismatch(path: first.path, problem: .expected(alternatives.joined(separator: " | "), got: found))
    }

    private static func checkType(_ value: RiverValue, _ type: RiverValue?, path: String) -> Mismatch? {
        let names: [String]
        switch type {
        case .string(let name)?: names = [name]
        case .array(let list)?: names = list.compactMap(\.stringValue)
        default: return nil
        }
        guard !names.isEmpty, !names.contains(where: { matches(value, typeName: $0) }) else { return nil }
        let expected = names.map(displayName).joined(separator: " or ")
        return Mismatch(path: path, problem: .expected(expected, got: value.kindName))
    }

    private static func matches(_ value: RiverValue, typeName: String) -> Bool {
        switch (typeName, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null),
            ("number", .int), ("number", .double), ("integer", .int), ("Uint8Array", .bytes),
            ("Date", .date), ("Date", .string), ("bigint", .bigInt), ("bigint", .int):
            return true
        case ("integer", .double(let d)):
            return d.rounded(.towardZero) == d
        case ("object", _), ("array", _), ("string", _), ("boolean", _), ("null", _), ("number", _), ("integer", _),
            ("Uint8Array", _), ("Date", _), ("bigint", _):
            return false
        default:
            return true  // a type this validator does not know
        }
    }

    private static func displayName(_ typeName: String) -> String {
        switch typeName {
        case "Uint8Array": "bytes ({\"$t\": base64})"
        case "bigint": "bigint ({\"$b\": decimal})"
        default: typeName
        }
    }

    private static func sameValue(_ a: RiverValue, _ b: RiverValue) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        return a == b
    }

    private static func shortDescription(_ value: RiverValue) -> String {
        switch value {
        case .object, .array, .bytes: value.kindName
        default: JSONText.render(value)
        }
    }

    private static func escape(_ key: String) -> String {
        key.replacing("~", with: "~0").replacing("/", with: "~1")
    }
}

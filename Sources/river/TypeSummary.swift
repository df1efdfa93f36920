import River

/// Compact, TypeScript-like one-line summaries of JSON schemas for `river list`:
/// `{n: number, msg?: string}`, `Uint8Array`, `"DIV_BY_ZERO" | "INFINITY"`, `T[]`.
enum TypeSummary {
    /// Summarises `schema` on one line.
    /// - Parameter schema: A JSON schema.
    /// - Returns: The summary; recursive definitions are written `Name = {...}` once.
    static func describe(_ schema: RiverValue) -> String {
        var shown: [String] = []
        return summary(schema, depth: 0, definitionsShown: &shown)
    }

    /// The error codes a procedure's `errors` schema declares (the `const` of each branch's
    /// `code`), in order.
    static func errorCodes(_ schema: RiverValue) -> [String] {
        let branches = schema["anyOf"]?.arrayValue ?? [schema]
        return branches.compactMap { $0["properties"]?["code"]?["const"]?.stringValue }
    }

    private static func summary(_ schema: RiverValue, depth: Int, definitionsShown: inout [String]) -> String {
        guard depth < 32, case .object(let keywords) = schema else { return "any" }
        if case .object(let defs)? = keywords["$defs"], let reference = keywords["$ref"]?.stringValue {
            let name = reference.split(separator: "/").last.map(String.init) ?? reference
            guard let definition = defs[name], !definitionsShown.contains(name) else { return name }
            definitionsShown.append(name)
            return "\(name) = \(summary(definition, depth: depth + 1, definitionsShown: &definitionsShown))"
        }
        if let reference = keywords["$ref"]?.stringValue {
            return reference.split(separator: "/").last.map(String.init) ?? reference
        }
        if let id = keywords["$id"]?.stringValue, !definitionsShown.contains(id) {
            definitionsShown.append(id)
            var inner = keywords
            inner["$id"] = nil
            return "\(id) = \(summary(.object(inner), depth: depth + 1, definitionsShown: &definitionsShown))"
        }
        if let constant = keywords["const"] { return JSONText.render(constant) }
        if case .array(let options)? = keywords["enum"] { return options.map(JSONText.render).joined(separator: " | ") }
        for keyword in ["anyOf", "oneOf"] {
            if case .array(let branches)? = keywords[keyword] {
                return branches.map { summary($0, depth: depth + 1, definitionsShown: &definitionsShown) }.joined(separator: " | ")
            }
        }
        if case .array(let branches)? = keywords["allOf"] {
            return branches.map { summary($0, depth: depth + 1, definitionsShown: &definitionsShown) }.joined(separator: " & ")
        }
        switch keywords["type"] {
        case .string("object")?:
            let properties = keywords["properties"]?.objectValue ?? [:]
            let required = Set(keywords["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            let fields = properties.keys.sorted().map { key -> String in
                let type = properties[key].map { summary($0, depth: depth + 1, definitionsShown: &definitionsShown) } ?? "any"
                return "\(key)\(required.contains(key) ? "" : "?"): \(type)"
            }
            return "{" + fields.joined(separator: ", ") + "}"
        case .string("array")?:
            let items = keywords["items"].map { summary($0, depth: depth + 1, definitionsShown: &definitionsShown) } ?? "any"
            return items.contains(" ") && !items.hasPrefix("{") ? "(\(items))[]" : "\(items)[]"
        case .string(let name)?:
            return name
        case .array(let names)?:
            return names.compactMap(\.stringValue).joined(separator: " | ")
        default:
            return "any"
        }
    }
}

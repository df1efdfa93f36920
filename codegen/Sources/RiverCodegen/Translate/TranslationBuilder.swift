/// The mutable state of one translation.
final class TranslationBuilder {
    let configuration: GeneratorConfiguration
    var access: AccessModifier { configuration.access }

    var usesFoundation = false
    var usesRiver = false
    var needsIndirect = false

    /// `$id` → Swift type name, for `$ref` resolution.
    var refNames: [String: String] = [:]
    /// Swift type name → the definition's schema, so unions of `$ref`s can be discriminated.
    var definitionSchemas: [String: JSONSchema] = [:]
    /// `name + canonical JSON` → Swift type name, to share identical definitions.
    var declaredDefinitions: [String: String] = [:]
    /// The scope that receives named definitions (the procedure namespace).
    var definitionScope = Scope(taken: [], enclosing: [])
    /// What the generated code represents less precisely than the schema, in schema order.
    var warnings: [CodegenWarning] = []

    init(configuration: GeneratorConfiguration) {
        self.configuration = configuration
    }

    func beginFile() {
        usesFoundation = false
        usesRiver = false
    }


    // MARK: Shared

    func indirectDeclaration() -> Declaration {
        Declaration(
            doc: ["A value stored out of line, so that a struct can contain itself (recursive schemas)."],
            .enumeration(EnumDescription(
                access: access, isIndirect: true, name: "Indirect<Wrapped: Sendable & Hashable & Codable>",
                inheritance: ["Sendable", "Hashable", "Codable"],
                members: [
                    Declaration(doc: ["The boxed value."], .enumCase(EnumCaseDescription(name: "boxed", associatedValues: ["Wrapped"]))),
                    Declaration(doc: ["Boxes a value.", "- Parameter value: The value."], .function(FunctionDescription(access: access, name: "init", parameters: [.init(label: "_", name: "value", type: "Wrapped")], body: [.line("self = .boxed(value)")]))),
                    Declaration(doc: ["The value."], .variable(VariableDescription(access: access, isLet: false, name: "value", type: "Wrapped", getter: [.line("switch self { case .boxed(let value): value }")]))),
                    Declaration(doc: ["Decodes the value itself (no wrapper on the wire)."], .function(decodingInit(body: [.line("self = .boxed(try Wrapped(from: decoder))")]))),
                    Declaration(doc: ["Encodes the value itself (no wrapper on the wire)."], .function(encodingFunction(body: [.line("try value.encode(to: encoder)")]))),
                ]
            ))
        )
    }

    func docLines(_ description: String?) -> [String]? {
        guard let description, !description.isEmpty else { return nil }
        return description.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
    }

    /// `init(from decoder: any Decoder) throws` with the given body.
    func decodingInit(body: [CodeBlock]) -> FunctionDescription {
        FunctionDescription(access: access, name: "init", parameters: [.init(label: "from", name: "decoder", type: "any Decoder")], effects: ["throws"], body: body)
    }

    /// `func encode(to encoder: any Encoder) throws` with the given body.
    func encodingFunction(body: [CodeBlock]) -> FunctionDescription {
        FunctionDescription(access: access, name: "encode", parameters: [.init(label: "to", name: "encoder", type: "any Encoder")], effects: ["throws"], body: body)
    }

    /// The doc comment of a node: its description (or `fallback`), then its constraint notes.
    func docLines(for schema: JSONSchema, fallback: [String]) -> [String] {
        var lines = docLines(schema.description) ?? fallback
        let formats = schema.notes.filter { $0.hasPrefix("format: ") }
        let constraints = schema.notes.filter { !$0.hasPrefix("format: ") }
        if !schema.notes.isEmpty { lines.append("") }
        lines += formats.map { "Format: `\($0.dropFirst("format: ".count))`." }
        if !constraints.isEmpty {
            lines.append("Schema constraints (not checked by the generated code): " + constraints.map { "`\($0)`" }.joined(separator: ", ") + ".")
        }
        return lines
    }
}

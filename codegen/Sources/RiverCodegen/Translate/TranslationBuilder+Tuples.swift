// Tuples (`items: […]` in TypeBox 0.34, `prefixItems` in 1.x) and single-value wrappers.
extension TranslationBuilder {
    /// A tuple as a struct with one field per position (`item0`, `item1`, …) and `rest` when
    /// more items are allowed, coded as a JSON array. Items past `minItems` are optional.
    func tupleStruct(_ name: String, tuple: JSONSchema.Tuple, path: String, doc: [String], scope: Scope) throws -> Declaration {
        var inner = innerScope(name, of: scope)
        var members: [Declaration] = []
        var parameters: [ParameterDescription] = []
        var parameterDocs: [String] = []
        var body: [CodeBlock] = []
        var decode: [CodeBlock] = [.line("var container = try decoder.unkeyedContainer()")]
        var encode: [CodeBlock] = [.line("var container = encoder.unkeyedContainer()")]
        for (index, item) in tuple.items.enumerated() {
            let field = "item\(index)"
            let ref = try typeRef(item, hint: "Item\(index)", scope: &inner)
            let isPositional = index < tuple.requiredCount
            // The field is optional when the item may be `null`, or may be missing at the end.
            let isOptional = ref.nullable || !isPositional
            if ref.isReference { needsIndirect = true }
            let stored = ref.isReference ? "Indirect<\(ref.expr)>" : ref.expr
            members.append(Declaration(doc: docLines(for: item, fallback: ["Item \(index) (`\(item.path)`)."]), .variable(VariableDescription(access: access, isLet: false, name: field, type: isOptional ? stored + "?" : stored))))
            parameters.append(ParameterDescription(label: "_", name: field, type: isOptional ? ref.expr + "?" : ref.expr, defaultValue: isPositional ? nil : "nil"))
            parameterDocs.append("  - \(field): Item \(index).")
            if ref.isReference {
                body.append(.line(isOptional ? "self.\(field) = \(field).map { Indirect($0) }" : "self.\(field) = Indirect(\(field))"))
            } else {
                body.append(.line("self.\(field) = \(field)"))
            }
            if isPositional {
                decode.append(.line("self.\(field) = try container.decode(\(ref.nullable ? "Optional<\(stored)>" : stored).self)"))
                encode.append(.line("try container.encode(\(field))"))
            } else {
                // An optional trailing item: absent when the array ends before it; written
                // (as `null` when nil) when a later item or `rest` is present.
                decode.append(.line("self.\(field) = container.isAtEnd ? nil : try container.decode(\(ref.nullable ? "Optional<\(stored)>" : stored).self)"))
                let later = (index..<tuple.items.count).map { "item\($0) != nil" } + (tuple.rest == nil ? [] : ["!rest.isEmpty"])
                encode.append(.line("if \(later.joined(separator: " || ")) { try container.encode(\(field)) }"))
            }
        }
        if let rest = tuple.rest {
            let ref = try typeRef(rest, hint: "RestElement", scope: &inner)
            members.append(Declaration(doc: ["The items after the positional ones (`\(rest.path)`)."], .variable(VariableDescription(access: access, isLet: false, name: "rest", type: "[\(ref.full)]"))))
            parameters.append(ParameterDescription(name: "rest", type: "[\(ref.full)]", defaultValue: "[]"))
            parameterDocs.append("  - rest: The items after the positional ones.")
            body.append(.line("self.rest = rest"))
            let decodedType = ref.nullable ? "Optional<\(ref.expr)>" : ref.expr
            decode += [
                .line("var rest: [\(ref.full)] = []"),
                .block("while !container.isAtEnd {", [.line("rest.append(try container.decode(\(decodedType).self))")]),
                .line("self.rest = rest"),
            ]
            encode.append(.block("for item in rest {", [.line("try container.encode(item)")]))
        }
        if tuple.items.isEmpty, tuple.rest == nil {
            // The empty tuple: an empty array, whatever the decoder holds after it.
            decode = [.line("_ = try decoder.unkeyedContainer()")]
            encode = [.line("_ = encoder.unkeyedContainer()")]
        }
        members.append(Declaration(
            doc: ["Creates a tuple."] + (parameters.isEmpty ? [] : ["- Parameters:"] + parameterDocs),
            .function(FunctionDescription(access: access, name: "init", parameters: parameters, body: body))
        ))
        members.append(Declaration(
            doc: ["Decodes the items from a JSON array, in order."],
            .function(decodingInit(body: decode))
        ))
        members.append(Declaration(
            doc: ["Encodes the items as a JSON array, in order."],
            .function(encodingFunction(body: encode))
        ))
        members += inner.declarations
        return Declaration(sourcePath: path, doc: doc, .structure(StructDescription(access: access, name: name, inheritance: ["Sendable", "Hashable", "Codable"], members: members)))
    }

    /// A named definition that is a container (`[Tree]`, `[String: Tree]`, a nullable union) as
    /// a struct holding one `value`, coded as that value alone.
    func wrapper(_ name: String, schema: JSONSchema, doc: [String], scope: Scope) throws -> Declaration {
        var inner = innerScope(name, of: scope)
        // The wrapped value is the definition's body, not the definition again.
        var body = schema
        body.id = nil
        let ref = try typeRef(body, hint: "Wrapped", scope: &inner)
        // A definition that is another's alias (`A = B`, `B = {a: A}`) boxes it, so that the
        // two structs have a finite size.
        if ref.isReference { needsIndirect = true }
        let stored = ref.isReference ? "Indirect<\(ref.expr)>" : ref.full
        let decodedType = ref.isReference ? stored : ref.nullable ? "Optional<\(ref.expr)>" : ref.expr
        var members: [Declaration] = [
            Declaration(doc: ["The value."], .variable(VariableDescription(access: access, isLet: false, name: "value", type: stored))),
            Declaration(
                doc: ["Wraps a value.", "- Parameter value: The value."],
                .function(FunctionDescription(access: access, name: "init", parameters: [.init(label: "_", name: "value", type: ref.full)], body: [
                    .line(ref.isReference ? "self.value = Indirect(value)" : "self.value = value"),
                ]))
            ),
            Declaration(
                doc: ["Decodes the value itself (no wrapper on the wire)."],
                .function(decodingInit(body: [
                    .line("self.value = try decoder.singleValueContainer().decode(\(decodedType).self)"),
                ]))
            ),
            Declaration(
                doc: ["Encodes the value itself (no wrapper on the wire)."],
                .function(encodingFunction(body: [
                    .line("var container = encoder.singleValueContainer()"),
                    .line("try container.encode(value)"),
                ]))
            ),
        ]
        members += inner.declarations
        return Declaration(sourcePath: schema.path, doc: doc, .structure(StructDescription(access: access, name: name, inheritance: ["Sendable", "Hashable", "Codable"], members: members)))
    }
}

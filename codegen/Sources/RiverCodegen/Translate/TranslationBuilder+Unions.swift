// Unions: discriminated by a const property, or tagged and tried in order.
extension TranslationBuilder {
    /// The case an open union decodes unknown discriminator values into.
    struct OpenCase {
        var name: String
        var type: String
        var doc: [String]
    }

    /// The properties of a variant, when it is one object (or an intersection of objects).
    func objectShape(_ schema: JSONSchema) -> ObjectShape? {
        guard schema.id == nil, schema.definitions.isEmpty else { return nil }
        switch schema.kind {
        case .object, .allOf:
            guard let shapes = objectShapes(schema), shapes.count == 1 else { return nil }
            return shapes[0]
        default: return nil
        }
    }

    /// The name of a property that every variant requires as a string const. Variants may
    /// share a value: decoding then tries them in schema order.
    func discriminator(_ variants: [ObjectShape]) -> String? {
        guard let first = variants.first else { return nil }
        for candidate in first.properties where candidate.isRequired {
            var values: Set<String> = []
            let ok = variants.allSatisfy { shape in
                guard let property = shape.properties.first(where: { $0.name == candidate.name }), property.isRequired,
                      case .constant(.string(let value)) = property.schema.kind
                else { return false }
                values.insert(value)
                return true
            }
            if ok, values.count > 1 { return candidate.name }
        }
        return nil
    }

    func union(_ name: String, variants: [JSONSchema], path: String, doc: [String], scope: Scope, open: OpenCase?, inheritance: [String] = ["Sendable", "Hashable", "Codable"]) throws -> Declaration {
        // Each variant's object shape, and the named type of a `$ref` variant.
        let resolved = variants.compactMap { variant -> (shape: ObjectShape, named: String?)? in
            if case .ref(let target) = variant.kind, let named = refNames[target], var definition = definitionSchemas[named] {
                definition.id = nil
                definition.definitions = []
                return objectShape(definition).map { ($0, named) }
            }
            return objectShape(variant).map { ($0, nil) }
        }
        // Error unions are always discriminated by `code` (checked by `declaredErrors`).
        if resolved.count == variants.count, let key = open != nil ? "code" : discriminator(resolved.map(\.shape)) {
            return try discriminatedUnion(
                name, variants: variants, properties: resolved.map(\.shape), named: resolved.map(\.named), key: key, path: path,
                doc: doc, scope: scope, open: open, inheritance: inheritance
            )
        }
        if open != nil {
            throw CodegenError(path: path, message: "unsupported: error variants must be objects with a string const `code`")
        }
        return try taggedUnion(name, variants: variants, path: path, doc: doc, scope: scope)
    }

    func discriminatedUnion(_ name: String, variants: [JSONSchema], properties: [ObjectShape], named: [String?], key: String, path: String, doc: [String], scope: Scope, open: OpenCase?, inheritance: [String]) throws -> Declaration {
        var inner = innerScope(name, of: scope)
        var caseTaken: Set<String> = open.map { [$0.name] } ?? []
        var cases: [Declaration] = []
        var decodeCases: [CodeBlock] = []
        var encodeCases: [CodeBlock] = []
        var codeCases: [CodeBlock] = []
        var messageCases: [CodeBlock] = []
        var allHaveMessage = true
        // Variants by discriminator value, in schema order (several may share one value).
        var byValue: [(value: String, variants: [(caseName: String, structName: String)])] = []
        var isIndirect = false
        for (index, (variant, shape)) in zip(variants, properties).enumerated() {
            let variantProperties = shape.properties
            guard let discriminatorProperty = variantProperties.first(where: { $0.name == key }),
                  case .constant(.string(let value)) = discriminatorProperty.schema.kind
            else { continue }
            let caseName = Naming.escaped(Naming.unique(Naming.legalMemberName(value), in: &caseTaken))
            let structName: String
            if let existing = named[index] {
                // A `$ref` variant: the named type itself, which may contain this union.
                structName = existing
                isIndirect = true
            } else {
                structName = Naming.unique(Naming.typeName(value), in: &inner.taken)
                let variantDoc = docLines(variant.description) ?? ["The `\(key)` = `\(value)` variant."]
                inner.declarations.append(try structure(structName, shape: shape, path: variant.path, doc: variantDoc, scope: inner))
            }
            cases.append(Declaration(doc: docLines(variant.description) ?? ["`\(value)`."], .enumCase(EnumCaseDescription(name: caseName, associatedValues: [structName]))))
            if let index = byValue.firstIndex(where: { $0.value == value }) {
                byValue[index].variants.append((caseName, structName))
            } else {
                byValue.append((value, [(caseName, structName)]))
            }
            encodeCases.append(.line("case .\(caseName)(let value): try value.encode(to: encoder)"))
            // The discriminator's Swift name inside the variant struct is its first member name.
            var memberNames: Set<String> = []
            var keyMember = ""
            var messageMember: String?
            for property in variantProperties {
                let member = Naming.unique(Naming.legalMemberName(property.name), in: &memberNames)
                if property.name == key { keyMember = member }
                if property.name == "message", property.isRequired, case .string = property.schema.kind { messageMember = member }
            }
            codeCases.append(.line("case .\(caseName)(let value): return value.\(Naming.escaped(keyMember)).rawValue"))
            if let messageMember {
                messageCases.append(.line("case .\(caseName)(let value): return value.\(Naming.escaped(messageMember))"))
            } else {
                allHaveMessage = false
            }
        }
        for (value, shared) in byValue {
            let label = "case \(Naming.stringLiteral(value)):"
            guard let last = shared.last else { continue }
            if shared.count == 1 {
                decodeCases.append(.line("\(label) self = .\(last.caseName)(try \(last.structName)(from: decoder))"))
                continue
            }
            // Variants sharing the value: the first, in schema order, that decodes.
            decodeCases.append(.line(label))
            for variant in shared.dropLast() {
                decodeCases.append(.line("    if let value = try? \(variant.structName)(from: decoder) {"))
                decodeCases.append(.line("        self = .\(variant.caseName)(value)"))
                decodeCases.append(.line("        return"))
                decodeCases.append(.line("    }"))
            }
            decodeCases.append(.line("    self = .\(last.caseName)(try \(last.structName)(from: decoder))"))
        }
        var members = cases
        let unknownHandling: CodeBlock
        if let open {
            usesRiver = true
            members.append(Declaration(doc: open.doc, .enumCase(EnumCaseDescription(name: open.name, associatedValues: [open.type]))))
            unknownHandling = .line("default: self = .\(open.name)(try \(open.type)(from: decoder))")
            encodeCases.append(.line("case .\(open.name)(let value): try value.encode(to: encoder)"))
            codeCases.append(.line("case .\(open.name)(let value): return value.code"))
            messageCases.append(.line("case .\(open.name)(let value): return value.message"))
        } else {
            unknownHandling = .block("case let other:", [
                .line("throw DecodingError.dataCorruptedError("),
                .line("    forKey: .discriminator, in: container, debugDescription: \"unknown \(key) \\(other)\""),
                .line(")"),
            ], closing: "")
        }
        members.append(Declaration(.enumeration(EnumDescription(
            access: .private, name: "DiscriminatorKey", inheritance: ["String", "CodingKey"],
            members: [Declaration(.enumCase(EnumCaseDescription(name: "discriminator", rawValue: Naming.stringLiteral(key))))]
        ))))
        var switchBody = decodeCases + [unknownHandling]
        if case .block(let opening, let body, _) = unknownHandling {
            switchBody = decodeCases + [.line(opening)] + body.map { if case .line(let text) = $0 { return .line("    " + text) } else { return $0 } }
        }
        members.append(Declaration(
            doc: ["Decodes the variant that `\(key)` names."],
            .function(decodingInit(body: [
                .line("let container = try decoder.container(keyedBy: DiscriminatorKey.self)"),
                .block("switch try container.decode(String.self, forKey: .discriminator) {", switchBody),
            ]))
        ))
        members.append(Declaration(
            doc: ["Encodes the variant, `\(key)` included."],
            .function(encodingFunction(body: [
                .block("switch self {", encodeCases),
            ]))
        ))
        if open != nil {
            members.append(Declaration(
                doc: ["The error code."],
                .variable(VariableDescription(access: access, isLet: false, name: "code", type: "String", getter: [.block("switch self {", codeCases)]))
            ))
            if allHaveMessage {
                members.append(Declaration(
                    doc: ["The human-readable message."],
                    .variable(VariableDescription(access: access, isLet: false, name: "message", type: "String", getter: [.block("switch self {", messageCases)]))
                ))
            }
        }
        members += inner.declarations
        return Declaration(sourcePath: path, doc: doc, .enumeration(EnumDescription(access: access, isIndirect: isIndirect, name: name, inheritance: inheritance, members: members)))
    }

    func tagName(_ schema: JSONSchema) -> String {
        if let id = schema.id { return Naming.legalMemberName(id) }
        switch schema.kind {
        case .string: return "string"
        case .number: return "number"
        case .integer: return "integer"
        case .boolean: return "bool"
        case .bytes: return "bytes"
        case .date: return "date"
        case .array: return "array"
        case .record: return "record"
        case .object, .allOf: return "object"
        case .constant(let value): return literalCaseNames([value])[0]
        case .tuple: return "tuple"
        case .undefined: return "undefined"
        case .bigInt: return "bigInt"
        case .unknown: return "value"
        case .enumeration: return "enumeration"
        case .ref(let target): return Naming.legalMemberName(target)
        case .anyOf: return "union"
        case .any: return "value"
        case .never: return "never"
        case .null: return "null"
        }
    }

    func taggedUnion(_ name: String, variants: [JSONSchema], path: String, doc: [String], scope: Scope) throws -> Declaration {
        var inner = innerScope(name, of: scope)
        var caseTaken: Set<String> = []
        var cases: [Declaration] = []
        var decode: [CodeBlock] = []
        var encodeCases: [CodeBlock] = []
        var isIndirect = false
        for (index, variant) in variants.enumerated() {
            let caseName = Naming.unique(tagName(variant), in: &caseTaken)
            let ref = try typeRef(variant, hint: Naming.typeName(caseName), scope: &inner)
            if ref.isReference { isIndirect = true }
            let escaped = Naming.escaped(caseName)
            cases.append(Declaration(doc: docLines(variant.description) ?? ["Variant \(index + 1): `\(variant.path)`."], .enumCase(EnumCaseDescription(name: escaped, associatedValues: [ref.full]))))
            let decodable = ref.nullable ? "Optional<\(ref.expr)>" : ref.expr
            decode.append(.block("if let value = try? \(decodable)(from: decoder) {", [.line("self = .\(escaped)(value)"), .line("return")]))
            encodeCases.append(.line("case .\(escaped)(let value): try value.encode(to: encoder)"))
        }
        var members = cases
        members.append(Declaration(
            doc: ["Decodes the first variant, in schema order, that accepts the value."],
            .function(decodingInit(body: decode + [
                .line("throw DecodingError.dataCorrupted("),
                .line("    DecodingError.Context(codingPath: decoder.codingPath, debugDescription: \"no variant of \(name) matches\")"),
                .line(")"),
            ]))
        ))
        members.append(Declaration(
            doc: ["Encodes the variant's value."],
            .function(encodingFunction(body: [
                .block("switch self {", encodeCases),
            ]))
        ))
        members += inner.declarations
        return Declaration(sourcePath: path, doc: doc, .enumeration(EnumDescription(access: access, isIndirect: isIndirect, name: name, inheritance: ["Sendable", "Hashable", "Codable"], members: members)))
    }
}

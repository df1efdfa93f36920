// Object schemas as structs.
extension TranslationBuilder {

    struct Field {
        var wireName: String
        var swiftName: String
        var type: String
        var storedType: String
        var parameterType: String
        var isRequired: Bool
        var fixedValue: String?
        var encodesNull: Bool
        var isBoxed: Bool
        var isOptional: Bool
        /// Whether `init` lets the caller leave it out (optional, or `T | undefined`).
        var defaultsToNil: Bool
        var doc: [String]
    }

    func innerScope(_ name: String, of scope: Scope) -> Scope {
        Scope(
            taken: Naming.reservedTypeNames.union(scope.enclosing).union([name]).union(refNames.values).union(definitionScope.taken),
            enclosing: scope.enclosing + [name]
        )
    }

    func structure(_ name: String, shape: ObjectShape, path: String, doc: [String], scope: Scope) throws -> Declaration {
        var inner = innerScope(name, of: scope)
        var memberNames: Set<String> = []
        var fields: [Field] = []
        for var property in shape.properties {
            // A required `not: {}` property makes the object unsatisfiable; a `Never` field
            // would make the struct impossible to build, so it is relaxed to `Never?` (absent).
            if case .never = property.schema.kind { property.isRequired = false }
            let swiftName = Naming.unique(Naming.legalMemberName(property.name), in: &memberNames)
            let fieldDoc = docLines(for: property.schema, fallback: ["The `\(property.name)` field."])
            if case .constant(let value) = property.schema.kind, property.isRequired, property.schema.id == nil {
                let typeName = Naming.unique(Naming.typeName(property.name), in: &inner.taken)
                inner.declarations.append(literalEnum(typeName, values: [value], path: property.schema.path, doc: ["The only value `\(property.name)` takes."]))
                let caseName = Naming.escaped(literalCaseNames([value])[0])
                fields.append(Field(wireName: property.name, swiftName: swiftName, type: typeName, storedType: typeName, parameterType: typeName, isRequired: true, fixedValue: "." + caseName, encodesNull: false, isBoxed: false, isOptional: false, defaultsToNil: false, doc: fieldDoc))
                continue
            }
            let ref = try typeRef(property.schema, hint: Naming.typeName(property.name), scope: &inner)
            let isOptional = !property.isRequired || ref.nullable
            let boxed = ref.isReference
            if boxed { needsIndirect = true }
            let stored = boxed ? "Indirect<\(ref.expr)>" : ref.expr
            fields.append(Field(
                wireName: property.name, swiftName: swiftName,
                type: isOptional ? stored + "?" : stored,
                storedType: stored,
                parameterType: isOptional ? ref.expr + "?" : ref.expr,
                isRequired: property.isRequired, fixedValue: nil,
                encodesNull: property.isRequired && ref.nullable && !ref.absentWhenNil, isBoxed: boxed, isOptional: isOptional,
                defaultsToNil: !property.isRequired || (ref.nullable && ref.absentWhenNil), doc: fieldDoc
            ))
        }
        var additional: (name: String, valueType: String, wirePath: String)?
        if let schema = shape.additional {
            let ref = try typeRef(schema, hint: "AdditionalValue", scope: &inner)
            additional = (Naming.unique("additionalProperties", in: &memberNames), ref.full, schema.path)
        }

        var members: [Declaration] = fields.map { field in
            Declaration(doc: field.doc, .variable(VariableDescription(access: access, isLet: false, name: Naming.escaped(field.swiftName), type: field.type)))
        }
        var parameters = fields.filter { $0.fixedValue == nil }.map { field in
            ParameterDescription(name: Naming.escaped(field.swiftName), type: field.parameterType, defaultValue: field.defaultsToNil ? "nil" : nil)
        }
        var parameterDocs = fields.filter { $0.fixedValue == nil }.map { "  - \($0.swiftName): The `\($0.wireName)` field." }
        var body: [CodeBlock] = fields.map { field in
            let name = Naming.escaped(field.swiftName)
            if let fixed = field.fixedValue { return .line("self.\(name) = \(fixed)") }
            if field.isBoxed { return .line(field.isOptional ? "self.\(name) = \(name).map { Indirect($0) }" : "self.\(name) = Indirect(\(name))") }
            return .line("self.\(name) = \(name)")
        }
        if let additional {
            members.append(Declaration(
                doc: ["The properties the schema does not name (`\(additional.wirePath)`), by wire name."],
                .variable(VariableDescription(access: access, isLet: false, name: additional.name, type: "[String: \(additional.valueType)]"))
            ))
            parameters.append(ParameterDescription(name: additional.name, type: "[String: \(additional.valueType)]", defaultValue: "[:]"))
            parameterDocs.append("  - \(additional.name): The properties the schema does not name.")
            body.append(.line("self.\(additional.name) = \(additional.name)"))
        }
        members.append(Declaration(
            doc: ["Creates a value."] + (parameters.isEmpty ? [] : ["- Parameters:"] + parameterDocs),
            .function(FunctionDescription(access: access, name: "init", parameters: parameters, body: body))
        ))
        if let additional {
            members += openStructCoding(fields: fields, additional: additional)
        } else {
            members += closedStructCoding(fields: fields)
        }
        members += inner.declarations
        return Declaration(sourcePath: path, doc: doc, .structure(StructDescription(access: access, name: name, inheritance: ["Sendable", "Hashable", "Codable"], members: members)))
    }

    /// `CodingKeys` (when a Swift name differs from its wire name, or `encode` is custom) and an
    /// `encode(to:)` that writes `null` for required nullable fields; decoding is synthesized.
    func closedStructCoding(fields: [Field]) -> [Declaration] {
        var members: [Declaration] = []
        let customEncode = fields.contains { $0.encodesNull }
        if customEncode || fields.contains(where: { $0.swiftName != $0.wireName }) {
            members.append(Declaration(.enumeration(EnumDescription(
                access: .private, name: "CodingKeys", inheritance: ["String", "CodingKey"],
                members: fields.map { field in
                    Declaration(.enumCase(EnumCaseDescription(
                        name: Naming.escaped(field.swiftName),
                        rawValue: field.swiftName == field.wireName ? nil : Naming.stringLiteral(field.wireName)
                    )))
                }
            ))))
        }
        if customEncode {
            let lines: [CodeBlock] = [.line("var container = encoder.container(keyedBy: CodingKeys.self)")] + fields.map { field in
                let name = Naming.escaped(field.swiftName)
                let method = field.isOptional && !field.encodesNull ? "encodeIfPresent" : "encode"
                return .line("try container.\(method)(\(name), forKey: .\(name))")
            }
            members.append(Declaration(
                doc: ["Encodes the value; required nullable fields are written as `null` when `nil`."],
                .function(encodingFunction(body: lines))
            ))
        }
        return members
    }

    /// Coding for a struct that keeps the properties its schema does not name: `CodingKeys` is
    /// a struct holding any wire name, and both directions are written out.
    func openStructCoding(fields: [Field], additional: (name: String, valueType: String, wirePath: String)) -> [Declaration] {
        let declared = fields.map { Naming.stringLiteral($0.wireName) }.joined(separator: ", ")
        let keys = Declaration(
            doc: ["Wire names: the declared properties' and any other key."],
            .structure(StructDescription(access: .private, name: "CodingKeys", inheritance: ["CodingKey"], members: [
                Declaration(.variable(VariableDescription(access: .internal, isLet: true, name: "stringValue", type: "String"))),
                Declaration(.variable(VariableDescription(access: .internal, isLet: false, name: "intValue", type: "Int?", getter: [.line("nil")]))),
                Declaration(doc: ["The keys of the declared properties."], .variable(VariableDescription(access: .internal, isStatic: true, isLet: true, name: "declared", type: "Set<String>", initialValue: "[\(declared)]"))),
                Declaration(.function(FunctionDescription(access: .internal, name: "init", parameters: [.init(label: "_", name: "stringValue", type: "String")], body: [.line("self.stringValue = stringValue")]))),
                Declaration(.function(FunctionDescription(access: .internal, name: "init?", parameters: [.init(name: "stringValue", type: "String")], body: [.line("self.stringValue = stringValue")]))),
                Declaration(.function(FunctionDescription(access: .internal, name: "init?", parameters: [.init(name: "intValue", type: "Int")], body: [.line("nil")]))),
            ]))
        )
        var decode: [CodeBlock] = [.line("let container = try decoder.container(keyedBy: CodingKeys.self)")]
        var encode: [CodeBlock] = [.line("var container = encoder.container(keyedBy: CodingKeys.self)")]
        for field in fields {
            let name = Naming.escaped(field.swiftName)
            let key = "CodingKeys(\(Naming.stringLiteral(field.wireName)))"
            decode.append(.line("self.\(name) = try container.\(field.isOptional ? "decodeIfPresent" : "decode")(\(field.storedType).self, forKey: \(key))"))
            encode.append(.line("try container.\(field.isOptional && !field.encodesNull ? "encodeIfPresent" : "encode")(\(name), forKey: \(key))"))
        }
        decode += [
            .line("var \(additional.name): [String: \(additional.valueType)] = [:]"),
            .block("for key in container.allKeys where !CodingKeys.declared.contains(key.stringValue) {", [
                .line("\(additional.name)[key.stringValue] = try container.decode(\(additional.valueType).self, forKey: key)"),
            ]),
            .line("self.\(additional.name) = \(additional.name)"),
        ]
        encode.append(.block("for (key, value) in \(additional.name) {", [.line("try container.encode(value, forKey: CodingKeys(key))")]))
        return [
            keys,
            Declaration(
                doc: ["Decodes the declared properties, and every other key into `\(additional.name)`."],
                .function(decodingInit(body: decode))
            ),
            Declaration(
                doc: ["Encodes the declared properties, then `\(additional.name)`."],
                .function(encodingFunction(body: encode))
            ),
        ]
    }
}

// Payloads and the type expression of each schema node; named (`$id`/`$defs`) definitions.
extension TranslationBuilder {
    /// Declares a payload type named `name` (`Init`, `Output`, `HandshakeMetadata`, …) in `scope`:
    /// the type itself when the schema makes one, else a typealias.
    func declarePayload(_ schema: JSONSchema, name: String, scope: inout Scope, doc: [String]) throws {
        if schema.id == nil, schema.definitions.isEmpty, makesDeclaration(schema) {
            scope.taken.insert(name)
            try declareNamed(schema, name: name, scope: &scope, doc: doc)
        } else {
            let ref = try typeRef(schema, hint: name + "Value", scope: &scope)
            scope.taken.insert(name)
            scope.declarations.append(Declaration(
                sourcePath: schema.path,
                doc: docLines(for: schema, fallback: doc),
                .typeAlias(TypeAliasDescription(access: access, name: name, existingType: ref.full))
            ))
        }
    }

    /// Whether the node becomes a declaration of its own (struct or enum), not nullable.
    func makesDeclaration(_ schema: JSONSchema) -> Bool {
        switch schema.kind {
        case .object, .allOf, .constant, .enumeration, .tuple: return true
        case .anyOf(let variants):
            let flat = flattened(variants)
            return !flat.contains { isNullish($0) || isNever($0) } && flat.count > 1
        default: return false
        }
    }

    func isNever(_ schema: JSONSchema) -> Bool {
        if case .never = schema.kind { return true }
        return false
    }

    /// `null` and `undefined`: the variants a union turns into an optional.
    func isNullish(_ schema: JSONSchema) -> Bool {
        switch schema.kind {
        case .null, .undefined: return true
        default: return false
        }
    }

    /// A union's variants with nested anonymous unions spliced in (`A | (B | C)` is `A | B | C`).
    func flattened(_ variants: [JSONSchema]) -> [JSONSchema] {
        variants.flatMap { variant -> [JSONSchema] in
            if case .anyOf(let nested) = variant.kind, variant.id == nil, variant.definitions.isEmpty {
                return flattened(nested)
            }
            return [variant]
        }
    }

    /// Registers the node's `$defs` (and its own `$id`) as named types of the definition scope.
    func registerDefinitions(_ schema: JSONSchema) throws {
        var pending: [(JSONSchema, String)] = []
        for definition in schema.definitions {
            let key = definition.name + "\u{0}" + definition.schema.canonicalText
            if let existing = declaredDefinitions[key] {
                refNames[definition.name] = existing
                if let id = definition.schema.id { refNames[id] = existing }
                continue
            }
            let name = Naming.unique(Naming.typeName(definition.name), in: &definitionScope.taken)
            declaredDefinitions[key] = name
            refNames[definition.name] = name
            if let id = definition.schema.id { refNames[id] = name }
            definitionSchemas[name] = definition.schema
            pending.append((definition.schema, name))
        }
        for (definition, name) in pending {
            try declareDefinition(definition, name: name)
        }
    }

    /// Declares a named definition. A definition that would only be a typealias of a container
    /// (`A = [A]`) becomes a single-value wrapper struct, since a typealias cannot refer to itself.
    func declareDefinition(_ schema: JSONSchema, name: String) throws {
        var scope = definitionScope
        scope.declarations = []
        let doc = ["`\(name)`, a named type of the schema (`$id`/`$defs`), which may be recursive."]
        if wrapsDefinition(schema) {
            scope.declarations.append(try wrapper(name, schema: schema, doc: docLines(for: schema, fallback: doc), scope: scope))
        } else {
            try declareNamed(schema, name: name, scope: &scope, doc: doc)
        }
        definitionScope.taken.formUnion(scope.taken)
        definitionScope.declarations += scope.declarations
    }

    /// Whether a definition is a container or reference that could refer back to itself.
    func wrapsDefinition(_ schema: JSONSchema) -> Bool {
        if makesDeclaration(schema) { return false }
        switch schema.kind {
        case .array, .record, .anyOf, .ref: return true
        default: return false
        }
    }

    func typeRef(_ schema: JSONSchema, hint: String, scope: inout Scope) throws -> TypeRef {
        try registerDefinitions(schema)
        if let id = schema.id, schema.definitions.allSatisfy({ $0.schema.id != id }) {
            let key = id + "\u{0}" + schema.canonicalText
            if let existing = declaredDefinitions[key] { return TypeRef(expr: existing) }
            let name = Naming.unique(Naming.typeName(id), in: &definitionScope.taken)
            declaredDefinitions[key] = name
            refNames[id] = name
            var stripped = schema
            stripped.id = nil
            stripped.definitions = []
            definitionSchemas[name] = stripped
            try declareDefinition(stripped, name: name)
            return TypeRef(expr: name)
        }
        switch schema.kind {
        case .ref(let target):
            guard let name = refNames[target] else {
                throw CodegenError(path: schema.path + ".$ref", message: "unresolved $ref \"\(target)\" (no enclosing schema or $defs entry has this $id)")
            }
            return TypeRef(expr: name, isReference: true)
        case .any:
            usesRiver = true
            return TypeRef(expr: "RiverValue")
        case .unknown(let type):
            warnings.append(CodegenWarning(path: schema.path, message: "type \"\(type)\" is not a JSON type River carries; generated as RiverValue (any value)"))
            usesRiver = true
            return TypeRef(expr: "RiverValue")
        case .never: return TypeRef(expr: "Never")
        case .null: return TypeRef(expr: "Never", nullable: true)
        case .undefined: return TypeRef(expr: "Never", nullable: true, absentWhenNil: true)
        case .string: return TypeRef(expr: "String")
        case .number: return TypeRef(expr: "Double")
        case .integer: return TypeRef(expr: "Int")
        case .boolean: return TypeRef(expr: "Bool")
        case .bigInt:
            usesRiver = true
            return TypeRef(expr: "RiverBigInt")
        case .bytes:
            usesFoundation = true
            return TypeRef(expr: "Data")
        case .date:
            usesFoundation = true
            return TypeRef(expr: "Date")
        case .array(let items):
            let item = try typeRef(items, hint: hint + "Element", scope: &scope)
            return TypeRef(expr: "[\(item.full)]")
        case .record(let values):
            let value = try typeRef(values, hint: hint + "Value", scope: &scope)
            return TypeRef(expr: "[String: \(value.full)]")
        case .anyOf(let variants):
            // `never` variants match nothing: leave them out.
            let possible = flattened(variants).filter { !isNever($0) }
            if possible.isEmpty { return TypeRef(expr: "Never") }
            let nonNull = possible.filter { !isNullish($0) }
            let nullable = nonNull.count < possible.count
            // `T | undefined` leaves the key out; `T | null` (also with undefined) writes `null`.
            let absentWhenNil = nullable && !possible.contains { if case .null = $0.kind { return true } else { return false } }
            if nonNull.isEmpty { return TypeRef(expr: "Never", nullable: true, absentWhenNil: absentWhenNil) }
            if nonNull.count == 1 {
                var single = try typeRef(nonNull[0], hint: hint, scope: &scope)
                if nullable, !single.nullable { single.absentWhenNil = absentWhenNil }
                single.nullable = single.nullable || nullable
                return single
            }
            let name = Naming.unique(hint, in: &scope.taken)
            var union = schema
            union.kind = .anyOf(nonNull)
            try declareNamed(union, name: name, scope: &scope, doc: nil)
            return TypeRef(expr: name, nullable: nullable, absentWhenNil: absentWhenNil)
        case .object, .allOf, .constant, .enumeration, .tuple:
            let name = Naming.unique(hint, in: &scope.taken)
            try declareNamed(schema, name: name, scope: &scope, doc: nil)
            return TypeRef(expr: name)
        }
    }

    /// Declares `schema` as a type named `name` (already reserved) in `scope`.
    func declareNamed(_ schema: JSONSchema, name: String, scope: inout Scope, doc: [String]?) throws {
        let doc = docLines(for: schema, fallback: doc ?? ["The type of `\(schema.path)`."])
        switch schema.kind {
        case .object(let properties, let additional):
            scope.declarations.append(try structure(name, shape: ObjectShape(properties: properties, additional: additional), path: schema.path, doc: doc, scope: scope))
        case .allOf(let members):
            try declareIntersection(schema, members: members, name: name, scope: &scope, doc: doc)
        case .constant(let value):
            scope.declarations.append(literalEnum(name, values: [value], path: schema.path, doc: doc))
        case .enumeration(let values):
            scope.declarations.append(literalEnum(name, values: values, path: schema.path, doc: doc))
        case .tuple(let tuple):
            scope.declarations.append(try tupleStruct(name, tuple: tuple, path: schema.path, doc: doc, scope: scope))
        case .anyOf(let list) where flattened(list).count > 1 && !flattened(list).contains(where: isNullish):
            let variants = flattened(list).filter { !isNever($0) }
            var values: [JSONLiteral] = []
            let allLiterals = variants.allSatisfy { variant in
                switch variant.kind {
                case .constant(let value): values.append(value); return variant.id == nil
                case .enumeration(let list): values += list; return variant.id == nil
                default: return false
                }
            }
            if allLiterals {
                var unique: [JSONLiteral] = []
                for value in values where !unique.contains(value) { unique.append(value) }
                scope.declarations.append(literalEnum(name, values: unique, path: schema.path, doc: doc))
            } else {
                scope.declarations.append(try union(name, variants: variants, path: schema.path, doc: doc, scope: scope, open: nil))
            }
        default:
            let ref = try typeRef(schema, hint: name + "Value", scope: &scope)
            scope.declarations.append(Declaration(sourcePath: schema.path, doc: doc, .typeAlias(TypeAliasDescription(access: access, name: name, existingType: ref.full))))
        }
    }
}

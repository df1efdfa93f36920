// Intersections (`allOf`): of objects, records and unions of them.
extension TranslationBuilder {
    /// The most alternatives an intersection of unions is expanded into.
    static let maximumIntersectionAlternatives = 64

    /// The object alternatives a node stands for: one for an object or record, one per variant
    /// for a union of them, the merged cross product for an intersection. `nil` when some part
    /// is not object-like (a string, an array, a `$ref`).
    func objectShapes(_ schema: JSONSchema) -> [ObjectShape]? {
        switch schema.kind {
        case .object(let properties, let additional):
            return [ObjectShape(properties: properties, additional: additional)]
        case .record(let values):
            return [ObjectShape(properties: [], additional: values)]
        case .allOf(let members):
            var result = [ObjectShape(properties: [], additional: nil)]
            for member in members {
                guard member.id == nil, member.definitions.isEmpty, let shapes = objectShapes(member) else { return nil }
                result = result.flatMap { left in shapes.map { left.merged(with: $0) } }
                if result.count > Self.maximumIntersectionAlternatives { return nil }
            }
            return result
        case .anyOf(let variants):
            var result: [ObjectShape] = []
            for variant in flattened(variants) where !isNever(variant) {
                guard variant.id == nil, variant.definitions.isEmpty, let shapes = objectShapes(variant) else { return nil }
                result += shapes
            }
            return result.isEmpty ? nil : result
        default:
            return nil
        }
    }

    /// Declares an `allOf` node: a struct for an intersection of objects and records, a union
    /// for an intersection with unions (`A & (B | C)` is `(A & B) | (A & C)`), the common type
    /// when every member is the same simple type, and `RiverValue` (with a warning) otherwise.
    func declareIntersection(_ schema: JSONSchema, members: [JSONSchema], name: String, scope: inout Scope, doc: [String]) throws {
        if let shapes = objectShapes(schema) {
            if shapes.count == 1 {
                scope.declarations.append(try structure(name, shape: shapes[0], path: schema.path, doc: doc, scope: scope))
            } else {
                let variants = shapes.enumerated().map { index, shape in
                    JSONSchema(path: "\(schema.path).allOf", kind: .object(shape.properties, additional: shape.additional), canonicalText: "\(schema.canonicalText)#\(index)")
                }
                scope.declarations.append(try union(name, variants: variants, path: schema.path, doc: doc, scope: scope, open: nil))
            }
            return
        }
        // `string & {minLength: 1}`: members that accept anything only add constraints.
        let typed = members.filter { if case .any = $0.kind { return false } else { return true } }
        let ref: TypeRef
        if let first = typed.first, typed.allSatisfy({ $0.kind == first.kind && $0.id == nil && $0.definitions.isEmpty }), isSimple(first) {
            ref = try typeRef(first, hint: name + "Value", scope: &scope)
        } else if typed.isEmpty {
            usesRiver = true
            ref = TypeRef(expr: "RiverValue")
        } else {
            warnings.append(CodegenWarning(path: schema.path, message: "an intersection of types that are not all objects; generated as RiverValue (any value)"))
            usesRiver = true
            ref = TypeRef(expr: "RiverValue")
        }
        scope.declarations.append(Declaration(sourcePath: schema.path, doc: doc, .typeAlias(TypeAliasDescription(access: access, name: name, existingType: ref.full))))
    }

    func isSimple(_ schema: JSONSchema) -> Bool {
        switch schema.kind {
        case .string, .number, .integer, .bigInt, .boolean, .bytes, .date, .null: return true
        default: return false
        }
    }
}

/// An object alternative: its properties, and the schema of the keys it does not name.
struct ObjectShape {
    var properties: [JSONSchema.Property]
    var additional: JSONSchema?

    /// Both objects' properties (the first declaration of a name wins; `required` accumulates).
    func merged(with other: ObjectShape) -> ObjectShape {
        var result = self
        for property in other.properties {
            if let index = result.properties.firstIndex(where: { $0.name == property.name }) {
                result.properties[index].isRequired = result.properties[index].isRequired || property.isRequired
            } else {
                result.properties.append(property)
            }
        }
        if result.additional == nil { result.additional = other.additional }
        return result
    }
}

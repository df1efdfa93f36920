// A procedure's `errors` union as its `Failure` type.
extension TranslationBuilder {

    static let reservedCodes = ["UNCAUGHT_ERROR", "UNEXPECTED_DISCONNECT", "INVALID_REQUEST", "CANCEL"]

    /// River's reserved error variants as `serializeSchema` writes them (canonical JSON).
    static let reservedShapes: [String: String] = [
        "UNCAUGHT_ERROR": simpleErrorShape("UNCAUGHT_ERROR"),
        "UNEXPECTED_DISCONNECT": simpleErrorShape("UNEXPECTED_DISCONNECT"),
        "CANCEL": simpleErrorShape("CANCEL"),
        "INVALID_REQUEST": #"{"properties":{"code":{"const":"INVALID_REQUEST","type":"string"},"extras":{"properties":{"firstValidationErrors":{"items":{"properties":{"message":{"type":"string"},"path":{"type":"string"}},"required":["path","message"],"type":"object"},"type":"array"},"totalErrors":{"type":"number"}},"required":["firstValidationErrors","totalErrors"],"type":"object"},"message":{"type":"string"}},"required":["code","message"],"type":"object"}"#,
    ]

    static func simpleErrorShape(_ code: String) -> String {
        #"{"properties":{"code":{"const":""# + code + #"","type":"string"},"message":{"type":"string"}},"required":["code","message"],"type":"object"}"#
    }

    /// The error variants a procedure declares itself: those before River's trailing four
    /// reserved variants, plus reserved-code variants whose shape differs; de-duplicated by code.
    func declaredErrors(_ errors: JSONSchema) throws -> [JSONSchema] {
        let variants: [JSONSchema]
        switch errors.kind {
        case .anyOf(let list): variants = flattened(list).filter { !isNever($0) }
        case .never: return []
        case .object: variants = [errors]
        default: throw CodegenError(path: errors.path, message: "unsupported: errors must be an anyOf of error objects")
        }
        var codes: [String] = []
        for variant in variants {
            guard let shape = objectShape(variant),
                  let code = shape.properties.first(where: { $0.name == "code" }), code.isRequired,
                  case .constant(.string(let value)) = code.schema.kind
            else {
                throw CodegenError(path: variant.path, message: "unsupported: a service error must be an object with a required string const `code`")
            }
            codes.append(value)
        }
        let tailStart = codes.count >= 4 && Array(codes.suffix(4)) == Self.reservedCodes ? codes.count - 4 : codes.count
        var declared: [JSONSchema] = []
        var seen: Set<String> = []
        for (index, variant) in variants.enumerated() {
            let code = codes[index]
            if index >= tailStart, Self.reservedShapes[code] == variant.canonicalText { continue }
            if seen.insert(code).inserted { declared.append(variant) }
        }
        return declared
    }

    func failure(_ procedure: RiverSchema.Procedure, qualified: String, enclosing: [String]) throws -> Declaration {
        let declared = try procedure.errors.map(declaredErrors) ?? []
        let path = procedure.errors?.path ?? procedure.path + ".errors"
        if declared.isEmpty {
            usesRiver = true
            return Declaration(
                sourcePath: path,
                doc: ["`\(qualified)` declares no service errors of its own: any code decodes as `RiverServiceError`;", "River's reserved errors are thrown as `RiverError`."],
                .typeAlias(TypeAliasDescription(access: access, name: "Failure", existingType: "RiverServiceError"))
            )
        }
        let scope = Scope(taken: [], enclosing: enclosing)
        return try union(
            "Failure", variants: declared, path: path,
            doc: ["The service errors `\(qualified)` declares. Codes it does not declare decode as `unknown`;", "River's reserved errors are thrown as `RiverError`."],
            scope: scope,
            open: OpenCase(name: "unknown", type: "RiverServiceError", doc: ["An error code the schema does not declare for this procedure."]),
            inheritance: ["Error", "Sendable", "Hashable", "Codable"]
        )
    }
}

import RiverCodegen
import Testing

/// Unsupported constructs fail with an error naming their JSON path, never silently.
@Suite struct CodegenErrorTests {
    static func schema(init initSchema: String, errors: String = #"{"anyOf":[]}"#) -> String {
        #"{"services":{"test":{"procedures":{"add":{"init":"# + initSchema + #","output":{"type":"object","properties":{}},"errors":"# + errors + #","type":"rpc"}}}}}"#
    }

    /// Malformed schemas: every well-formed schema a River server writes generates code, so
    /// what is left are keywords of the wrong JSON type, references to nothing, and error
    /// variants River cannot produce.
    static let cases: [(schema: String, path: String)] = [
        (schema(init: #"{"type":"object","properties":{"x":{"$ref":"Missing"}}}"#), "services.test.procedures.add.init.properties.x.$ref"),
        (schema(init: #"{"type":"object","properties":{}}"#, errors: #"{"anyOf":[{"type":"string"}]}"#), "services.test.procedures.add.errors.anyOf.0"),
        (schema(init: #"{"type":"object","required":"x"}"#), "services.test.procedures.add.init.required"),
        (schema(init: #"{"type":"object","properties":[]}"#), "services.test.procedures.add.init.properties"),
        (schema(init: #"{"enum":3}"#), "services.test.procedures.add.init.enum"),
        (schema(init: #"{"type":"array","items":3}"#), "services.test.procedures.add.init.items"),
        (schema(init: #"{"type":3}"#), "services.test.procedures.add.init.type"),
        (schema(init: #"{"anyOf":{}}"#), "services.test.procedures.add.init.anyOf"),
        (schema(init: #"[]"#), "services.test.procedures.add.init"),
        (#"{"services":{"test":{"procedures":{"add":{"init":{},"output":{},"type":"bidi"}}}}}"#, "services.test.procedures.add.type"),
        (#"{"services":{"test":{"procedures":{"add":{"init":{},"output":{},"type":"stream"}}}}}"#, "services.test.procedures.add.input"),
        (#"{"services":{"test":{}}}"#, "services.test.procedures"),
        (#"{"services":{},"handshakeSchema":3}"#, "handshakeSchema"),
    ]

    @Test(arguments: cases)
    func errorNamesTheJSONPath(_ schema: String, _ path: String) throws {
        let error = #expect(throws: CodegenError.self) { try generate(schema) }
        #expect(error?.path == path)
        #expect(error?.description.hasPrefix(path + ": ") == true)
    }

    @Test func invalidJSONIsReported() {
        #expect(throws: CodegenError.self) { try generate(#"{"services": "#) }
    }
}

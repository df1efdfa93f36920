import RiverCodegen
import Testing

/// Unsupported constructs fail with an error naming their JSON path, never silently.
@Suite struct CodegenErrorTests {
    static func schema(init initSchema: String, errors: String = #"{"anyOf":[]}"#) -> String {
        #"{"services":{"test":{"procedures":{"add":{"init":"# + initSchema + #","output":{"type":"object","properties":{}},"errors":"# + errors + #","type":"rpc"}}}}}"#
    }

    static let cases: [(schema: String, path: String)] = [
        (schema(init: #"{"type":"object","properties":{"x":{"minimum":3}}}"#), "services.test.procedures.add.init.properties.x"),
        (schema(init: #"{"type":"object","properties":{"x":{"type":"bigint"}}}"#), "services.test.procedures.add.init.properties.x.type"),
        (schema(init: #"{"type":"object","properties":{"x":{"type":"number","const":1}}}"#), "services.test.procedures.add.init.properties.x.const"),
        (schema(init: #"{"enum":["a",2]}"#), "services.test.procedures.add.init.enum.1"),
        (schema(init: #"{"type":"object","patternProperties":{"^[0-9]+$":{"type":"string"}}}"#), "services.test.procedures.add.init.patternProperties.^[0-9]+$"),
        (schema(init: #"{"type":"array","items":[{"type":"string"}]}"#), "services.test.procedures.add.init.items"),
        (schema(init: #"{"type":"object","properties":{"x":{"$ref":"Missing"}}}"#), "services.test.procedures.add.init.properties.x.$ref"),
        (schema(init: #"{"allOf":[{"type":"object","properties":{}},{"type":"string"}]}"#), "services.test.procedures.add.init.allOf.1"),
        (schema(init: #"{"not":{"type":"string"}}"#), "services.test.procedures.add.init.not"),
        (schema(init: #"{"type":"object","properties":{}}"#, errors: #"{"anyOf":[{"type":"string"}]}"#), "services.test.procedures.add.errors.anyOf.0"),
        (#"{"services":{"test":{"procedures":{"add":{"init":{},"output":{},"type":"bidi"}}}}}"#, "services.test.procedures.add.type"),
        (#"{"services":{"test":{"procedures":{"add":{"init":{},"output":{},"type":"stream"}}}}}"#, "services.test.procedures.add.input"),
        (#"{"services":{"test":{}}}"#, "services.test.procedures"),
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

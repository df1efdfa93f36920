import Foundation
import RiverCodegen
import Testing

/// The parse stage alone: ordered JSON, the schema model, and naming.
@Suite struct CodegenParserTests {
    @Test func jsonKeepsMemberOrderAndEscapes() throws {
        let value = try JSONValue.parse(Array(#"{"b":1,"a":[true,null,"x\u00e9\n"],"c":{"z":-1.5e3,"y":{}}}"#.utf8))
        #expect(value.objectMembers?.map(\.key) == ["b", "a", "c"])
        #expect(value["a"] == .array([.bool(true), .null, .string("xé\n")]))
        #expect(value.canonicalText == #"{"a":[true,null,"xé\n"],"b":1,"c":{"y":{},"z":-1.5e3}}"#)
    }

    @Test func referenceSchemaModel() throws {
        let schema = try SchemaParser().parse(Fixtures.bytes(Fixtures.schemas.appendingPathComponent("reference-services.json")))
        #expect(schema.services.map(\.name) == ["test", "ordering", "fallible", "subscribable", "uploadable", "cancel"])
        let test = try #require(schema.services.first)
        #expect(test.procedures.map(\.name) == ["add", "echo", "echoWithPrefix", "echoBinary", "echoRecursive"])
        #expect(test.procedures.map(\.kind) == [.rpc, .stream, .stream, .rpc, .rpc])
        #expect(test.procedures[1].input != nil && test.procedures[0].input == nil)
        #expect(test.procedures[3].initSchema.kind == .object([.init(name: "data", schema: JSONSchema(path: "services.test.procedures.echoBinary.init.properties.data", kind: .bytes, canonicalText: #"{"type":"Uint8Array"}"#), isRequired: true)], additional: nil))
        let recursive = test.procedures[4].initSchema
        #expect(recursive.kind == .ref("RecursivePayload"))
        #expect(recursive.definitions.map(\.name) == ["RecursivePayload"])
        #expect(schema.handshakeSchema?.path == "handshakeSchema")
        let legacy = try SchemaParser().parse(Fixtures.bytes(Fixtures.schemas.appendingPathComponent("reference-services.typebox034.json")))
        #expect(legacy.handshakeSchema == nil)
        #expect(legacy.services[0].procedures[4].initSchema.id == "T0")
    }

    @Test(arguments: [
        ("echoWithPrefix", "EchoWithPrefix", "echoWithPrefix"),
        ("DIV_BY_ZERO", "DivByZero", "divByZero"),
        ("$kind", "Kind", "kind"),
        ("data-3", "Data3", "data3"),
        ("Type", "Type", "type"),
        ("self", "Self", "self_"),
        ("default", "Default", "default"),
        ("URLValue", "URLValue", "urlValue"),
        ("3d", "T3d", "_3d"),
        ("", "Value", "value"),
        ("😀", "U1F600", "u1F600"),
        ("🚀rocket", "U1F680Rocket", "u1F680Rocket"),
        ("❤️", "U2764", "u2764"),
        ("ünï", "UFCNUEF", "ufcnuef"),
    ])
    func naming(_ wire: String, _ type: String, _ member: String) {
        #expect(Naming.typeName(wire) == type)
        #expect(Naming.legalMemberName(wire) == member)
    }

    @Test func collisionsGetNumberedSuffixes() {
        var taken: Set<String> = []
        #expect(["data3", "data3", "data3"].map { Naming.unique($0, in: &taken) } == ["data3", "data3_2", "data3_3"])
        var files: Set<String> = ["Test"]
        #expect(["TEST", "Test_2", "Other"].map { Naming.uniqueIgnoringCase($0, in: &files) } == ["TEST_2", "Test_2_2", "Other"])
        #expect(Naming.escaped("default") == "`default`")
        #expect(Naming.escaped("from") == "from")
        #expect(Naming.stringLiteral("a\"b\\c\n") == #""a\"b\\c\n""#)
    }
}

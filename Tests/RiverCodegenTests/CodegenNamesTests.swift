import Foundation
import River
import RiverReferenceClient
import Testing

/// Names that are Swift keywords, standard or River types, non-identifiers, emoji, or differ
/// only in case (`Tests/RiverCodegenTests/Corpus/constructs/names.json`): the generated code
/// compiles (it is part of `RiverReferenceClient`), and every wire name survives a round trip.
@Suite struct CodegenNamesTests {
    typealias Test = CorpusNames.Test

    /// Every property of `test.properties`' init, keyed by its wire name.
    static let wireNames = [
        "self", "Self", "init", "Type", "type", "default", "class", "protocol", "$kind", "data-3", "3d", "😀", "😃", "foo",
        "Foo", "FOO", "", "_", "CodingKeys", "additionalProperties", "rawValue", "hashValue", "description", "encode",
        "river", "Result", "some", "any", "async", "await", "throws", "nil", "true", "Protocol", "deinit", "subscript",
        "super", "inout", "operator", "precedencegroup", "__", "x.y", "a b", "ünïcödé", "日本",
    ]

    @Test(arguments: WireCodec.allCases)
    func wireNamesSurviveRoundTrips(_ codec: WireCodec) throws {
        let payload = RiverValue.object(Dictionary(uniqueKeysWithValues: Self.wireNames.map { ($0, RiverValue.string("value of \($0)")) }))
        let value = try RiverValueDecoder().decode(Test.Properties.Init.self, from: payload)
        #expect(value.self_ == "value of self" && value.self_2 == "value of Self" && value.init_ == "value of init")
        #expect(value.foo == "value of foo" && value.foo_2 == "value of Foo" && value.foo_3 == "value of FOO")
        #expect(value.u1F600 == "value of 😀" && value.u1F603 == "value of 😃" && value._3d == "value of 3d")
        #expect(try RiverValueEncoder().encode(value) == payload)
        #expect(try codec.roundTrip(value) == value)
    }

    @Test func typeNamesThatShadowStandardTypesAreRenamed() throws {
        // The output's properties hold structs named after standard types; Swift's own stay usable.
        let output = try fromJSON(Test.Properties.Output.self, "{" + [
            "Result", "Error", "Data", "Date", "Never", "Type", "Self", "Client", "Init", "Output", "Failure", "River",
            "String", "Indirect", "CodingKeys", "Int64",
        ].map { #""\#($0)":{"v":1}"# }.joined(separator: ",") + "}")
        #expect(output.result.v == 1 && output.data.v == 1 && output.river.v == 1 && output.int64.v == 1)
        let result: Result<Int, any Error> = .success(1)
        #expect(try result.get() == 1)
    }

    @Test(arguments: WireCodec.allCases)
    func definitionsAndDiscriminatorsWithOddNames(_ codec: WireCodec) throws {
        let payload = try fromJSON(Test.Definitions.Init.self, #"{"r":{"next":{"back":{}}},"i":{"self":{}},"e":{"b":"emoji"},"init":{"a":"x"}}"#)
        #expect(try codec.roundTrip(payload) == payload)
        for kind in ["self", "Self", "", "😀"] {
            let output = try fromJSON(Test.Definitions.Output.self, #"{"kind":"\#(kind)"}"#)
            #expect(try RiverValueEncoder().encode(output) == .object(["kind": .string(kind)]))
        }
        let failure = try fromJSON(Test.Definitions.Failure.self, #"{"code":"😀","message":"m"}"#)
        #expect(failure.code == "😀")
        let numeric = try fromJSON(Test.Definitions.Failure.self, #"{"code":"123","message":"m"}"#)
        #expect(numeric.code == "123")
        // Codes that differ only in case are distinct cases.
        #expect(try fromJSON(Test.Definitions.Failure.self, #"{"code":"UNKNOWN","message":"m"}"#).code == "UNKNOWN")
        #expect(try fromJSON(Test.Definitions.Failure.self, #"{"code":"unknown","message":"m","extras":{"code":1}}"#).code == "unknown")
        if case .unknown(let other) = try fromJSON(Test.Definitions.Failure.self, #"{"code":"NOPE","message":"m"}"#) {
            #expect(other.code == "NOPE")
        } else {
            Issue.record("an undeclared code decodes as .unknown")
        }
    }

    @Test(arguments: WireCodec.allCases)
    func literalsWithOddNames(_ codec: WireCodec) throws {
        for value in Test.Literals.Init.allCases { #expect(try codec.roundTrip(value) == value) }
        for value in Test.Literals.Output.allCases { #expect(try codec.roundTrip(value) == value) }
        #expect(Test.Literals.Init.allCases.map(\.rawValue) == ["self", "Self", "init", "", "default", "😀", "😃", "a b", "a-b", "1", "true"])
        #expect(try fromJSON(Test.Literals.Output.self, #""-1""#) != fromJSON(Test.Literals.Output.self, "-1"))
    }

    @Test func servicesAndProceduresWithOddNamesKeepTheirWireNames() {
        #expect(CorpusNames.Test.Init.procedure.serviceName == "test" && CorpusNames.Test.Init.procedure.procedureName == "init")
        #expect(CorpusNames.Test.U1F600.procedure.procedureName == "😀")
        #expect(CorpusNames.Test.T2fast.procedure.procedureName == "2fast")
        #expect(CorpusNames.Test.AB.procedure.procedureName == "a-b" && CorpusNames.Test.AB_2.procedure.procedureName == "a_b")
        #expect(CorpusNames.Test_2.Ping.procedure.serviceName == "Test" && CorpusNames.Test_3.Ping.procedure.serviceName == "TEST")
        #expect(CorpusNames.T9lives.Ping.procedure.serviceName == "9lives")
        #expect(CorpusNames.U1F680Rocket.Ping.procedure.serviceName == "🚀rocket")
        #expect(CorpusNames.HandshakeMetadata(self_: "s", u1F600: 1) == CorpusNames.HandshakeMetadata(self_: "s", u1F600: 1))
    }
}

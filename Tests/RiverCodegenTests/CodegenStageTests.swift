import Foundation
import RiverCodegen
import Testing

/// The translate and render stages on their own.
@Suite struct CodegenStageTests {
    @Test func translateProducesStructuredDeclarations() throws {
        let schema = try SchemaParser().parse(Fixtures.bytes(Fixtures.schemas.appendingPathComponent("reference-services-handshake.json")))
        let files = try Translator(configuration: GeneratorConfiguration(namespace: "Handshake"), schemaFileName: "h.json").translate(schema)
        #expect(files.map(\.name) == ["Handshake.swift", "Handshake+Test.swift"])
        #expect(files[1].imports == [ImportDescription(access: .public, module: "River")])
        guard case .extending(let wrapper) = try #require(files[1].declarations.first).kind,
              case .enumeration(let service) = try #require(wrapper.members.first).kind
        else {
            Issue.record("expected extension Handshake { enum Test }")
            return
        }
        #expect(wrapper.extendedType == "Handshake")
        #expect(service.name == "Test")
        let memberNames: [String] = service.members.compactMap {
            switch $0.kind {
            case .enumeration(let e): return e.name
            case .structure(let s): return s.name
            default: return nil
            }
        }
        #expect(memberNames == ["Echo", "Client"])
        guard case .enumeration(let echo) = service.members[0].kind else { return }
        #expect(service.members[0].sourcePath == "services.test.procedures.echo")
        let payloads = echo.members.compactMap { declaration -> String? in
            switch declaration.kind {
            case .structure(let s): return "struct \(s.name)"
            case .typeAlias(let t): return "typealias \(t.name) = \(t.existingType)"
            case .variable(let v): return "let \(v.name) = \(v.initialValue ?? "")"
            default: return nil
            }
        }
        #expect(payloads == [
            "struct Init", "struct Output", "typealias Failure = RiverServiceError",
            #"let procedure = RPCProcedure<Init, Output, Failure>(service: "test", procedure: "echo")"#,
        ])
    }

    @Test func renderWrapsLongSignaturesAndGroupsMembers() {
        let declarations = [
            Declaration(doc: ["A thing."], .structure(StructDescription(access: .public, name: "Thing", inheritance: ["Sendable"], members: [
                Declaration(.variable(VariableDescription(access: .public, isLet: true, name: "a", type: "Int"))),
                Declaration(.variable(VariableDescription(access: .public, isLet: true, name: "b", type: "Int"))),
                Declaration(.function(FunctionDescription(
                    access: .public, name: "short", parameters: [.init(label: "_", name: "x", type: "Int")], returnType: "Int", body: [.line("x")]
                ))),
                Declaration(.function(FunctionDescription(
                    access: .public, name: "long",
                    parameters: [
                        .init(name: "first", type: "SomeRatherLongTypeName<WithGenericArguments>"),
                        .init(name: "second", type: "AnotherRatherLongTypeName", defaultValue: ".defaults"),
                    ],
                    effects: ["async", "throws"], returnType: "Void",
                    body: [.block("switch first {", [.line("case .a: break")])]
                ))),
            ]))),
        ]
        #expect(SwiftRenderer(maximumLineWidth: 80).renderMembers(declarations) == """
            /// A thing.
            public struct Thing: Sendable {
                public let a: Int
                public let b: Int

                public func short(_ x: Int) -> Int {
                    x
                }

                public func long(
                    first: SomeRatherLongTypeName<WithGenericArguments>,
                    second: AnotherRatherLongTypeName = .defaults
                ) async throws -> Void {
                    switch first {
                    case .a: break
                    }
                }
            }

            """)
    }
}

import Foundation
import RiverCodegen
import Testing

/// Warnings, `handshakeSchema: null`, and single-file output.
@Suite struct CodegenOutputTests {
    @Test func unknownTypesWarnWithTheirPath() throws {
        let schema = Fixtures.constructs.appendingPathComponent("unsafe.json")
        let output = try GeneratorPipeline(configuration: GeneratorConfiguration(namespace: "U"))
            .generate(InputFile(name: "unsafe.json", contents: Fixtures.bytes(schema)))
        #expect(output.warnings.map(\.path) == [
            "services.unsafe.procedures.unsafe.init.properties.custom",
            "services.unsafe.procedures.unsafe.init.properties.symbol",
            "services.unsafe.procedures.unsafe.init.properties.function",
            "services.unsafe.procedures.unsafe.output",
        ])
        #expect(output.warnings.first?.description == #"warning: services.unsafe.procedures.unsafe.init.properties.custom: type "foo" is not a JSON type River carries; generated as RiverValue (any value)"#)
        // Everything else generates without a warning.
        for other in try Fixtures.constructSchemas() where other.lastPathComponent != "unsafe.json" {
            let result = try GeneratorPipeline(configuration: GeneratorConfiguration(namespace: "N"))
                .generate(InputFile(name: other.lastPathComponent, contents: Fixtures.bytes(other)))
            #expect(result.warnings.isEmpty, "\(other.lastPathComponent): \(result.warnings)")
        }
    }

    @Test(arguments: [#""handshakeSchema":null,"#, ""])
    func handshakeSchemaNullOrAbsent(_ handshake: String) throws {
        let files = try generate("{" + handshake + #""services":{"s":{"procedures":{}}}}"#, namespace: "N")
        #expect(!files.contains { $0.contents.contains("HandshakeMetadata") })
    }

    @Test func singleFileHoldsEverything() throws {
        let schema = Fixtures.schemas.appendingPathComponent("reference-services.json")
        let split = try GeneratorPipeline(configuration: GeneratorConfiguration(namespace: "R"))
            .run(InputFile(name: "reference-services.json", contents: Fixtures.bytes(schema)))
        let single = try GeneratorPipeline(configuration: GeneratorConfiguration(namespace: "R", singleFile: true))
            .run(InputFile(name: "reference-services.json", contents: Fixtures.bytes(schema)))
        #expect(single.map(\.name) == ["R.swift"])
        let text = try #require(single.first?.contents)
        #expect(text.components(separatedBy: "\nimport ").count == 1)
        for file in split {
            // Every declaration of every split file is in the single file.
            for line in file.contents.split(separator: "\n") where line.contains("struct ") || line.contains("enum ") {
                #expect(text.contains(line))
            }
        }
    }
}

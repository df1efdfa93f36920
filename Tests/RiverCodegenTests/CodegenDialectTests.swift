import Foundation
import RiverCodegen
import Testing

/// The TypeBox 0.34 and 1.x serializations of the same services produce the same API.
///
/// They differ only in how recursion is written, and so in the recursive type's name: 0.34's
/// auto-generated `$id` (`T0`) versus 1.x's `$defs` key (`RecursivePayload`). Both name the
/// type after the schema, as the schema README recommends; everything else is identical once
/// comments (source paths and the header) are set aside.
@Suite struct CodegenDialectTests {
    static func generate(_ file: String) throws -> [RenderedFile] {
        try GeneratorPipeline(configuration: GeneratorConfiguration(namespace: "Services"))
            .run(InputFile(name: file, contents: Fixtures.bytes(Fixtures.schemas.appendingPathComponent(file))))
    }

    /// The code without comment lines, with the 0.34 recursive type renamed.
    static func api(_ text: String, renaming: [String: String] = [:]) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).filter {
            !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//")
        }.map(String.init)
        for (old, new) in renaming {
            lines = lines.map { $0.replacingOccurrences(of: "\\b\(old)\\b", with: new, options: .regularExpression) }
        }
        return lines.joined(separator: "\n")
    }

    @Test func referenceServicesMatchAcrossDialects() throws {
        let modern = try Self.generate("reference-services.json")
        let legacy = try Self.generate("reference-services.typebox034.json")
        // Service files pair up one to one; the shared file differs (only 1.x has a handshakeSchema).
        #expect(modern.dropFirst().map(\.name) == legacy.dropFirst().map(\.name))
        for (new, old) in zip(modern.dropFirst(), legacy.dropFirst()) {
            #expect(Self.api(new.contents) == Self.api(old.contents, renaming: ["T0": "RecursivePayload"]), "\(new.name)")
        }
        #expect(modern[0].contents.contains("struct HandshakeMetadata"))
        #expect(!legacy[0].contents.contains("HandshakeMetadata"))
    }

    @Test func recursiveTypeIsNamedFromTheSchema() throws {
        let modern = try Self.generate("reference-services.json").first { $0.name == "Services+Test.swift" }
        let legacy = try Self.generate("reference-services.typebox034.json").first { $0.name == "Services+Test.swift" }
        #expect(modern?.contents.contains("public typealias Init = RecursivePayload") == true)
        #expect(modern?.contents.contains("public var children: [RecursivePayload]?") == true)
        #expect(legacy?.contents.contains("public typealias Init = T0") == true)
        #expect(legacy?.contents.contains("public var children: [T0]?") == true)
    }

    @Test func handshakeSchemasMatchAcrossDialects() throws {
        let modern = try Self.generate("reference-services-handshake.json")
        let legacy = try Self.generate("reference-services-handshake.typebox034.json")
        #expect(modern.map(\.name) == legacy.map(\.name))
        for (new, old) in zip(modern, legacy) {
            #expect(Self.api(new.contents) == Self.api(old.contents), "\(new.name)")
        }
    }

    /// Pairs of the same TypeBox type as 0.34 and 1.x serialize it (tuples, records, literals,
    /// enums, recursion): each pair renders the same Swift once comments are set aside.
    static let constructPairs: [(legacy: String, modern: String)] = [
        (#"{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":false,"minItems":2,"maxItems":2}"#,
         #"{"type":"array","additionalItems":false,"minItems":2,"prefixItems":[{"type":"string"},{"type":"number"}],"maxItems":2}"#),
        (#"{"type":"object","patternProperties":{"^(.*)$":{"type":"number"}}}"#, #"{"type":"object","patternProperties":{"^.*$":{"type":"number"}}}"#),
        (#"{"const":3.5,"type":"number"}"#, #"{"type":"number","const":3.5}"#),
        (#"{"anyOf":[{"const":"a","type":"string"},{"const":2,"type":"number"}]}"#, #"{"enum":["a",2]}"#),
        (#"{"$id":"Node","type":"object","properties":{"next":{"$ref":"Node"}},"required":[]}"#,
         #"{"$defs":{"Node":{"type":"object","required":[],"properties":{"next":{"$ref":"Node"}},"$id":"Node"}},"$ref":"Node"}"#),
    ]

    @Test(arguments: 0..<constructPairs.count)
    func constructsMatchAcrossDialects(_ index: Int) throws {
        let pair = Self.constructPairs[index]
        let legacy = try renderSnippet(pair.legacy)
        let modern = try renderSnippet(pair.modern)
        #expect(Self.api(legacy) == Self.api(modern))
    }
}

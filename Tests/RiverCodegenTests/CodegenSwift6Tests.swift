import Foundation
import RiverCodegen
import RiverTestProcess
import Testing

/// Every corpus schema, generated at the access levels the package build does not compile
/// (`internal`, `package`), type-checks in Swift 6 mode with warnings as errors, against the
/// `River` module of this build. (The `public` output is `RiverReferenceClient`, which the
/// package build compiles with the same settings.)
@Suite struct CodegenSwift6Tests {
    struct Variant: Sendable, CustomTestStringConvertible {
        var access: AccessModifier
        var flags: [String]
        var testDescription: String { access.rawValue }
    }

    static let variants = [
        Variant(access: .internal, flags: []),
        Variant(access: .package, flags: [
            "-package-name", "corpus", "-enable-upcoming-feature", "ExistentialAny",
            "-enable-upcoming-feature", "InternalImportsByDefault", "-enable-upcoming-feature", "MemberImportVisibility",
        ]),
    ]

    @Test(arguments: variants)
    func corpusTypeChecksWithoutWarnings(_ variant: Variant) async throws {
        let modules = try #require(CodegenBinary.url, "river-codegen was not built").deletingLastPathComponent().appendingPathComponent("Modules")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("river-codegen-swift6-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var sources: [String] = []
        for schema in try Fixtures.constructSchemas() {
            let configuration = GeneratorConfiguration(access: variant.access, namespace: Fixtures.constructNamespace(schema), singleFile: true)
            for file in try GeneratorPipeline(configuration: configuration).run(InputFile(name: schema.lastPathComponent, contents: Fixtures.bytes(schema))) {
                let url = directory.appendingPathComponent(file.name)
                try file.contents.write(to: url, atomically: true, encoding: .utf8)
                sources.append(url.path)
            }
        }
        let moduleMap = Fixtures.testsDirectory.deletingLastPathComponent().appendingPathComponent("Sources/CMsgPack/module.modulemap")
        let typeCheck = try await ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["swiftc", "-typecheck", "-swift-version", "6", "-warnings-as-errors", "-module-name", "Corpus",
             "-I", modules.path, "-Xcc", "-fmodule-map-file=\(moduleMap.path)"] + variant.flags + sources)
        #expect(typeCheck.status == 0, "\((typeCheck.stderrText + typeCheck.stdoutText).prefix(4000))")
    }
}

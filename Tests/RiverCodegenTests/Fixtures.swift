import Foundation

/// Locates the package's test fixtures from this file's path (never outside the package).
enum Fixtures {
    /// `Tests/`.
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    /// `Tests/Fixtures/schemas/`.
    static let schemas = testsDirectory.appendingPathComponent("Fixtures/schemas")
    /// `Tests/RiverReferenceClient/`, where the committed generated code lives.
    static let referenceClient = testsDirectory.appendingPathComponent("RiverReferenceClient")
    /// `Tests/RiverCodegenTests/Corpus/corpus.json`.
    static let corpus = testsDirectory.appendingPathComponent("RiverCodegenTests/Corpus/corpus.json")

    /// `Tests/RiverCodegenTests/Corpus/constructs/`: one schema per construct (generated with
    /// `--single-file` into `Tests/RiverReferenceClient/Corpus/`).
    static let constructs = testsDirectory.appendingPathComponent("RiverCodegenTests/Corpus/constructs")

    /// The construct schemas, by file name.
    static func constructSchemas() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: constructs, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// The namespace a construct schema is generated into: `arrays-tuples.json` → `CorpusArraysTuples`.
    static func constructNamespace(_ schema: URL) -> String {
        "Corpus" + schema.deletingPathExtension().lastPathComponent.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    static func bytes(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }
}

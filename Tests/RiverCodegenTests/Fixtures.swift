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

    static func bytes(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }
}

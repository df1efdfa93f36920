import Foundation
import Testing

/// The libraries a River client links import Foundation proper only where `FoundationEssentials`
/// does not exist (Darwin), so that on Linux a process using them does not load Foundation,
/// FoundationInternationalization and ICU (about 7 MB resident in `river-bench`; see
/// Benchmarks/README.md). The CLI and the tests may use all of Foundation.
@Suite("Client libraries import FoundationEssentials, not Foundation")
struct FoundationImportTests {
    /// The source folders of the modules a client process links.
    static let clientModules = [
        "Sources/River", "Sources/RiverWebSocket", "Sources/RiverProtobuf", "TestServer/Sources/RiverTestServer",
    ]

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The lines of `source` that import Foundation outside an `#else` of
    /// `#if canImport(FoundationEssentials)`.
    static func unguardedFoundationImports(in source: String) -> [Int] {
        var conditions: [(condition: String, inElse: Bool)] = []
        var offending: [Int] = []
        for (index, rawLine) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#if ") {
                conditions.append((String(line.dropFirst(4)), false))
            } else if line.hasPrefix("#else") || line.hasPrefix("#elseif") {
                if !conditions.isEmpty { conditions[conditions.count - 1].inElse = true }
            } else if line.hasPrefix("#endif") {
                _ = conditions.popLast()
            } else if line.range(of: #"^(@\w+ )*((public|package|internal|private|fileprivate) )?import Foundation$"#, options: .regularExpression) != nil {
                let guarded = conditions.contains { $0.inElse && $0.condition == "canImport(FoundationEssentials)" }
                if !guarded { offending.append(index + 1) }
            }
        }
        return offending
    }

    @Test("the checker finds an unguarded import and accepts a guarded one")
    func checkerWorks() {
        #expect(Self.unguardedFoundationImports(in: "import Dispatch\nimport Foundation\n") == [2])
        #expect(Self.unguardedFoundationImports(in: "public import Foundation") == [1])
        let guarded = "#if canImport(FoundationEssentials)\nimport FoundationEssentials\n#else\nimport Foundation\n#endif\n"
        #expect(Self.unguardedFoundationImports(in: guarded).isEmpty)
        #expect(Self.unguardedFoundationImports(in: "#if os(Linux)\n#else\nimport Foundation\n#endif").count == 1)
    }

    @Test("no client module imports Foundation where FoundationEssentials exists")
    func clientModulesAvoidFoundation() throws {
        var found: [String] = []
        var files = 0
        for module in Self.clientModules {
            let folder = Self.packageRoot.appendingPathComponent(module)
            let enumerator = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil))
            for case let file as URL in enumerator where file.pathExtension == "swift" {
                files += 1
                let source = try String(contentsOf: file, encoding: .utf8)
                for line in Self.unguardedFoundationImports(in: source) {
                    found.append("\(module)/\(file.lastPathComponent):\(line)")
                }
            }
        }
        #expect(files > 100)
        #expect(found.isEmpty, "import FoundationEssentials instead (guarded by canImport): \(found)")
    }

    @Test("swift-protobuf is used without its default traits (BinaryDelimitedStreams imports Foundation)")
    func protobufWithoutFoundationTrait() throws {
        let manifest = try String(contentsOf: Self.packageRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        let dependency = manifest.split(separator: "\n").first { $0.contains("apple/swift-protobuf.git") }
        #expect(dependency?.contains("traits: []") == true, "swift-protobuf's dependency line: \(dependency ?? "missing")")
    }
}

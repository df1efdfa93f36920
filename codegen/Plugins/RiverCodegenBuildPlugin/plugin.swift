import Foundation
import PackagePlugin

/// A build-tool plugin: every `<name>.river.json` schema among a target's files becomes
/// `<name>.swift` (one file, `internal` access) in the build, regenerated when the schema
/// changes.
///
/// ```swift
/// .target(name: "MyApp", dependencies: [.product(name: "River", package: "river-swift")],
///         plugins: [.plugin(name: "RiverCodegenBuildPlugin", package: "river-swift")])
/// ```
@main
struct RiverCodegenBuildPlugin: BuildToolPlugin {
    /// The suffix of schema files the plugin generates from.
    static let schemaSuffix = ".river.json"

    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let tool = try context.tool(named: "river-codegen")
        return target.sourceFiles
            .filter { $0.url.lastPathComponent.hasSuffix(Self.schemaSuffix) }
            .map { schema in
                let name = String(schema.url.lastPathComponent.dropLast(Self.schemaSuffix.count))
                let output = context.pluginWorkDirectoryURL.appendingPathComponent("\(name).swift")
                return .buildCommand(
                    displayName: "river-codegen \(schema.url.lastPathComponent)",
                    executable: tool.url,
                    arguments: [schema.url.path, "--output-file", output.path, "--access", "internal"],
                    inputFiles: [schema.url],
                    outputFiles: [output]
                )
            }
    }
}

import Foundation
import PackagePlugin

/// A build-tool plugin: every `<name>.river.json` schema among a target's files becomes
/// `<name>.swift` (one file) in the build, regenerated when the schema changes.
///
/// An optional `<name>.river-codegen.json` beside the schema sets the options:
/// `{"access": "public", "namespace": "MyServices"}` (access defaults to `internal`).
///
/// ```swift
/// .target(name: "MyApp", dependencies: [.product(name: "River", package: "river-swift")],
///         plugins: [.plugin(name: "RiverCodegenBuildPlugin", package: "river-swift")])
/// ```
@main
struct RiverCodegenBuildPlugin: BuildToolPlugin {
    /// The suffix of schema files the plugin generates from.
    static let schemaSuffix = ".river.json"
    /// The suffix of a schema's options file.
    static let optionsSuffix = ".river-codegen.json"

    /// The contents of an options file.
    struct Options: Decodable {
        var access: String?
        var namespace: String?
    }

    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let tool = try context.tool(named: "river-codegen")
        let files = target.sourceFiles.map(\.url)
        return try files.filter { $0.lastPathComponent.hasSuffix(Self.schemaSuffix) }.map { schema in
            let name = String(schema.lastPathComponent.dropLast(Self.schemaSuffix.count))
            let output = context.pluginWorkDirectoryURL.appendingPathComponent("\(name).swift")
            var inputs = [schema]
            var options = Options()
            if let optionsFile = files.first(where: { $0.lastPathComponent == name + Self.optionsSuffix }) {
                do {
                    options = try JSONDecoder().decode(Options.self, from: Data(contentsOf: optionsFile))
                } catch {
                    throw PluginError("\(optionsFile.path): expected {\"access\": \"public|package|internal\", \"namespace\": \"Name\"} (\(error))")
                }
                inputs.append(optionsFile)
            }
            var arguments = [schema.path, "--output-file", output.path, "--access", options.access ?? "internal"]
            if let namespace = options.namespace { arguments += ["--namespace", namespace] }
            return .buildCommand(
                displayName: "river-codegen \(schema.lastPathComponent)",
                executable: tool.url,
                arguments: arguments,
                inputFiles: inputs,
                outputFiles: [output]
            )
        }
    }
}

/// A plugin failure with a message for the user.
struct PluginError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

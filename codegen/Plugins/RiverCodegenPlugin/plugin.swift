import Foundation
import PackagePlugin

/// `swift package river-codegen --target T --schema path.json [--access public|package|internal] [--namespace Name]`
///
/// Runs `river-codegen` on the schema and writes the Swift files into the target's
/// `Generated/` folder (created if missing). Relative schema paths are resolved against the
/// package root.
@main
struct RiverCodegenPlugin: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let targetNames = extractor.extractOption(named: "target")
        let schemas = extractor.extractOption(named: "schema")
        let access = extractor.extractOption(named: "access").last
        let namespace = extractor.extractOption(named: "namespace").last
        guard let targetName = targetNames.last, let schema = schemas.last else {
            throw PluginError("usage: swift package river-codegen --target <Target> --schema <schema.json> [--access public|package|internal] [--namespace <Name>]")
        }
        if !extractor.remainingArguments.isEmpty {
            throw PluginError("unexpected arguments: \(extractor.remainingArguments.joined(separator: " "))")
        }
        guard let target = try context.package.targets(named: [targetName]).first as? SourceModuleTarget else {
            throw PluginError("\(targetName) is not a source target of this package")
        }
        let schemaURL = schema.hasPrefix("/")
            ? URL(fileURLWithPath: schema)
            : context.package.directoryURL.appendingPathComponent(schema)
        let outputURL = target.directoryURL.appendingPathComponent("Generated")

        var toolArguments = [schemaURL.path, "--output", outputURL.path]
        if let access { toolArguments += ["--access", access] }
        if let namespace { toolArguments += ["--namespace", namespace] }

        let process = Process()
        process.executableURL = try context.tool(named: "river-codegen").url
        process.arguments = toolArguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw PluginError("river-codegen failed (status \(process.terminationStatus))")
        }
    }
}

/// A plugin failure with a message for the user.
struct PluginError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

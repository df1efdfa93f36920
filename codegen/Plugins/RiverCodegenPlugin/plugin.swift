import PackagePlugin

@main
struct RiverCodegenPlugin: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        print("river-codegen plugin: not built yet")
    }
}

import Foundation
import River
import RiverCodegenPluginFixture
import Testing

/// `RiverCodegenBuildPlugin`: the `RiverCodegenPluginFixture` target has only a schema
/// (`fixture.river.json`) and code using the types generated from it during the build, so
/// this suite compiling at all shows the plugin ran; the tests check what it generated.
@Suite struct CodegenBuildPluginTests {
    @Test func generatedTypesEncodeAndDecode() throws {
        let request = try FixtureGreeting.request(name: "Ada", times: nil)
        #expect(String(decoding: request, as: UTF8.self) == #"{"name":"Ada"}"#)
        let response = try FixtureGreeting.response(Array(#"{"greeting":"Hello, Ada","at":[1,2]}"#.utf8))
        #expect(response.greeting == "Hello, Ada" && response.x == 1 && response.y == 2)
        #expect(try FixtureGreeting.errorCode(Array(#"{"code":"RUDE","message":"m"}"#.utf8)) == "RUDE")
        #expect(FixtureGreeting.clientConformsToItsProtocol)
    }

    @Test func theOptionsFileSetsNamespaceAndAccess() {
        // fixture.river-codegen.json: {"access": "package", "namespace": "FixtureServices"}, so the
        // generated types are visible here, in another target of the package.
        #expect(FixtureServices.Greeter.Greet.procedure.serviceName == "greeter")
        #expect(FixtureServices.Greeter.Greet.Init(name: "n") == .init(name: "n", times: nil))
    }

    @Test func thePluginIsDeclaredForSchemaFilesInTargets() throws {
        // The manifest wires the fixture to the plugin, and the plugin to river-codegen.
        let manifest = try String(contentsOf: Fixtures.testsDirectory.deletingLastPathComponent().appendingPathComponent("Package.swift"), encoding: .utf8)
        #expect(manifest.contains(#"plugins: ["RiverCodegenBuildPlugin"]"#))
        #expect(manifest.contains(#".plugin(name: "RiverCodegenBuildPlugin", targets: ["RiverCodegenBuildPlugin"])"#))
        let fixtureFiles = try FileManager.default.contentsOfDirectory(atPath: Fixtures.testsDirectory.appendingPathComponent("RiverCodegenPluginFixture").path)
        #expect(Set(fixtureFiles) == ["fixture.river.json", "fixture.river-codegen.json", "Greeting.swift"])
    }
}

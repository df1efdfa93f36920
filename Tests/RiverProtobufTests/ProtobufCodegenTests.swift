import Foundation
import RiverProtobufCodegen
import SwiftProtobuf
import Testing

/// protoc-gen-river-swift's generator: the committed client for test_service.proto is exactly
/// what it generates (golden), names follow protoc-gen-swift, and bad input is a clear error.
@Suite struct ProtobufCodegenTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    /// `protoc --include_imports --descriptor_set_out` of Protos/river/test/test_service.proto.
    static func testServiceDescriptors() throws -> [Google_Protobuf_FileDescriptorProto] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("Fixtures/protobuf/test_service.protoset"))
        return try Google_Protobuf_FileDescriptorSet(serializedBytes: [UInt8](data)).file
    }

    @Test func theCommittedClientIsWhatTheGeneratorWrites() throws {
        let files = try Self.testServiceDescriptors()
        let file = try #require(files.first { $0.name == "river/test/test_service.proto" })
        let generated = try #require(try RiverClientGenerator(visibility: .public).generate(file, allFiles: files))
        let committed = try String(
            contentsOf: Self.fixtures.appendingPathComponent("RiverProtobufTestService/river/test/test_service.river.swift"), encoding: .utf8)
        #expect(generated == committed)
    }

    @Test(arguments: [("Echo", "echo"), ("CountUp", "countUp"), ("GetURL", "getURL"), ("URLFetch", "urlFetch"), ("Default", "`default`")])
    func methodNamesBecomeLowerCamelCase(_ method: String, _ function: String) {
        #expect(SwiftNaming.functionName(method) == function)
    }

    @Test func typePrefixesFollowProtocGenSwift() {
        var file = Google_Protobuf_FileDescriptorProto()
        file.package = "replit.river.internal.v1"
        #expect(SwiftNaming.typePrefix(of: file) == "Replit_River_Internal_V1_")
        file.package = "my_company.api"
        #expect(SwiftNaming.typePrefix(of: file) == "MyCompany_Api_")
        file.options.swiftPrefix = "MC"
        #expect(SwiftNaming.typePrefix(of: file) == "MC")
        file.package = ""
        file.clearOptions()
        #expect(SwiftNaming.typePrefix(of: file) == "")
    }

    /// A service using a nested message of an imported file, in a package-less file.
    @Test func messagesFromOtherFilesAndNestedMessagesAreNamed() throws {
        var imported = Google_Protobuf_FileDescriptorProto()
        imported.name = "shared.proto"
        imported.package = "acme.shared"
        var outer = Google_Protobuf_DescriptorProto()
        outer.name = "Outer"
        var inner = Google_Protobuf_DescriptorProto()
        inner.name = "Inner"
        outer.nestedType = [inner]
        imported.messageType = [outer]

        var file = Google_Protobuf_FileDescriptorProto()
        file.name = "svc.proto"
        var method = Google_Protobuf_MethodDescriptorProto()
        method.name = "Watch"
        method.inputType = ".acme.shared.Outer"
        method.outputType = ".acme.shared.Outer.Inner"
        method.serverStreaming = true
        var service = Google_Protobuf_ServiceDescriptorProto()
        service.name = "Watcher"
        service.method = [method]
        file.service = [service]

        let code = try #require(try RiverClientGenerator().generate(file, allFiles: [imported, file]))
        #expect(code.contains("internal enum Watcher {"))
        #expect(code.contains("internal static let serviceName = \"Watcher\""))
        #expect(code.contains("ProtobufServerStreamingMethod<Acme_Shared_Outer, Acme_Shared_Outer.Inner>(service: Watcher.serviceName, method: \"Watch\")"))
        #expect(code.contains("func watch<Value: Sendable>(_ request: Acme_Shared_Outer, options: CallOptions, body: (ProtobufResponseStream<Acme_Shared_Outer.Inner>)"))
        #expect(code.contains("internal import RiverProtobuf"))
    }

    @Test func aFileWithoutServicesGeneratesNothing() throws {
        var file = Google_Protobuf_FileDescriptorProto()
        file.name = "messages.proto"
        #expect(try RiverClientGenerator().generate(file, allFiles: [file]) == nil)
    }

    @Test func anUnknownMessageTypeIsAnError() {
        var file = Google_Protobuf_FileDescriptorProto()
        file.name = "broken.proto"
        var method = Google_Protobuf_MethodDescriptorProto()
        method.name = "Get"
        method.inputType = ".nowhere.Request"
        method.outputType = ".nowhere.Response"
        var service = Google_Protobuf_ServiceDescriptorProto()
        service.name = "Broken"
        service.method = [method]
        file.service = [service]
        #expect(throws: RiverClientGenerator.GenerationError("broken.proto: Broken.Get: unknown input type .nowhere.Request")) {
            try RiverClientGenerator().generate(file, allFiles: [file])
        }
    }

    @Test func pluginParametersAreChecked() throws {
        #expect(try RiverClientGenerator(parameter: "Visibility=Package").visibility == .package)
        #expect(try RiverClientGenerator(parameter: "").visibility == .internal)
        #expect(throws: RiverClientGenerator.GenerationError.self) { try RiverClientGenerator(parameter: "Visibility=Open") }
        #expect(throws: RiverClientGenerator.GenerationError.self) { try RiverClientGenerator(parameter: "FileNaming=PathToUnderscores") }
    }

    /// What protoc sees: a CodeGeneratorRequest in, a response naming the file out (or an error).
    @Test func thePluginAnswersProtocRequests() throws {
        let files = try Self.testServiceDescriptors()
        var request = Google_Protobuf_Compiler_CodeGeneratorRequest()
        request.fileToGenerate = ["river/test/test_service.proto"]
        request.parameter = "Visibility=Public"
        request.protoFile = files
        let response = try Google_Protobuf_Compiler_CodeGeneratorResponse(
            serializedBytes: try PluginRequestHandler.respond(to: try request.serializedBytes()))
        #expect(!response.hasError)
        #expect(response.file.map(\.name) == ["river/test/test_service.river.swift"])

        request.parameter = "Visibility=Nope"
        let refused = try Google_Protobuf_Compiler_CodeGeneratorResponse(
            serializedBytes: try PluginRequestHandler.respond(to: try request.serializedBytes()))
        #expect(refused.error.contains("Visibility"))
        let garbage = try Google_Protobuf_Compiler_CodeGeneratorResponse(serializedBytes: try PluginRequestHandler.respond(to: [0xff]))
        #expect(garbage.hasError)
    }
}

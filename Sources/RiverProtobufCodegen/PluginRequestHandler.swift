import SwiftProtobuf

/// protoc's side of the plugin protocol: a serialized `CodeGeneratorRequest` in, a serialized
/// `CodeGeneratorResponse` out (errors go in the response, as protoc expects).
public enum PluginRequestHandler {
    /// Answers one request.
    /// - Parameter request: The bytes protoc wrote to the plugin's stdin.
    /// - Returns: The bytes of the response, for stdout.
    /// - Throws: Only when the response itself cannot be serialized.
    public static func respond(to request: [UInt8]) throws -> [UInt8] {
        var response = Google_Protobuf_Compiler_CodeGeneratorResponse()
        response.supportedFeatures = UInt64(Google_Protobuf_Compiler_CodeGeneratorResponse.Feature.proto3Optional.rawValue)
        do {
            let parsed = try Google_Protobuf_Compiler_CodeGeneratorRequest(serializedBytes: request)
            let generator = try RiverClientGenerator(parameter: parsed.parameter)
            for name in parsed.fileToGenerate {
                guard let file = parsed.protoFile.first(where: { $0.name == name }) else {
                    throw RiverClientGenerator.GenerationError("protoc sent no descriptor for \(name)")
                }
                guard let content = try generator.generate(file, allFiles: parsed.protoFile) else { continue }
                var output = Google_Protobuf_Compiler_CodeGeneratorResponse.File()
                output.name = RiverClientGenerator.outputName(for: name)
                output.content = content
                response.file.append(output)
            }
        } catch let error as RiverClientGenerator.GenerationError {
            response.error = error.message
        } catch {
            response.error = "protoc-gen-river-swift: could not read the request: \(error)"
        }
        return try response.serializedBytes()
    }
}

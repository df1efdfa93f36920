import Foundation
import RiverProtobufCodegen

// protoc-gen-river-swift: protoc runs it with a CodeGeneratorRequest on stdin and reads the
// CodeGeneratorResponse from stdout. Usage:
//   protoc --plugin=protoc-gen-river-swift=PATH --river-swift_out=DIR [--river-swift_opt=Visibility=Public] FILE.proto
let request = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
do {
    FileHandle.standardOutput.write(Data(try PluginRequestHandler.respond(to: request)))
} catch {
    FileHandle.standardError.write(Data("protoc-gen-river-swift: \(error)\n".utf8))
    exit(1)
}

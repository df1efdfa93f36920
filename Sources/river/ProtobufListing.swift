import River
import RiverProtobuf
import SwiftProtobuf

/// `river list --protoset`: the services of a descriptor set, each method with its kind, the
/// subcommand that calls it, and its message types.
enum ProtobufListing {
    static func print(protoset: String, filter: String?) throws {
        let pool: ProtobufDescriptorPool
        do { pool = try ProtobufCall.loadPool(protoset) } catch { throw error.report() }
        var printed = 0
        for service in pool.services {
            let methods = service.descriptor.method.filter { method in
                guard let filter else { return true }
                return filter == service.fullName || filter == "\(service.fullName)/\(method.name)" || filter == "\(service.fullName).\(method.name)"
            }
            guard !methods.isEmpty else { continue }
            Console.output(service.fullName)
            for method in methods {
                printed += 1
                let kind = ProtobufCall.methodKind(of: method)
                Console.output("  \(method.name)  (\(ProtobufCall.describe(kind)): river \(kind.procedureKind.subcommand))")
                Console.output("    request:  \(method.clientStreaming ? "stream " : "")\(method.inputType.dropFirst())")
                Console.output("    response: \(method.serverStreaming ? "stream " : "")\(method.outputType.dropFirst())")
            }
        }
        if printed == 0 {
            let what = filter.map { "no service or method \($0)" } ?? "no services"
            throw CLIError(.invalidInput, "\(what) in \(protoset)").report()
        }
    }
}

import ArgumentParser
import River

/// `river list`: the services and procedures of a schema file.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the services and procedures of a River serialized schema with their kinds and types.")

    @Option(help: ArgumentHelp("River serialized schema (serializeSchema output).", valueName: "file"))
    var schema: String?

    @Option(help: ArgumentHelp("Protobuf descriptor set (protoc --descriptor_set_out --include_imports): list its services.", valueName: "file"))
    var protoset: String?

    @Argument(help: ArgumentHelp("Only this service, or this one procedure.", valueName: "service[.procedure]"))
    var filter: String?

    func validate() throws {
        guard (schema == nil) != (protoset == nil) else { throw ValidationError("give either --schema or --protoset") }
    }

    func run() async throws {
        if let protoset { return try ProtobufListing.print(protoset: protoset, filter: filter) }
        guard let schema else { return }
        let document: RiverSchema
        do { document = try RiverSchema.load(path: schema) } catch { throw error.report() }
        let reserved: Set<String> = ["UNCAUGHT_ERROR", "UNEXPECTED_DISCONNECT", "INVALID_REQUEST", "CANCEL"]
        var printed = 0
        for service in document.services.keys.sorted() {
            guard let procedures = document.services[service] else { continue }
            let names = procedures.keys.sorted().filter { name in
                guard let filter else { return true }
                return filter == service || filter == "\(service).\(name)"
            }
            guard !names.isEmpty else { continue }
            Console.output("\(service)")
            for name in names {
                guard let procedure = procedures[name] else { continue }
                printed += 1
                Console.output("  \(name)  (\(procedure.kind.rawValue): river \(procedure.kind.subcommand))")
                Console.output("    init:   \(TypeSummary.describe(procedure.initSchema))")
                if let input = procedure.inputSchema {
                    Console.output("    input:  \(TypeSummary.describe(input))")
                }
                Console.output("    output: \(TypeSummary.describe(procedure.outputSchema))")
                let codes = procedure.errorsSchema.map(TypeSummary.errorCodes)?.filter { !reserved.contains($0) } ?? []
                if !codes.isEmpty {
                    Console.output("    errors: \(codes.joined(separator: " | "))")
                }
            }
        }
        if let handshake = document.handshakeSchema, filter == nil {
            Console.output("handshake metadata: \(TypeSummary.describe(handshake))")
        }
        if printed == 0, let filter {
            throw CLIError(.invalidInput, "no service or procedure \(filter) in \(schema)").report()
        }
    }
}

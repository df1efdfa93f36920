import Foundation
import River

/// A River serialized schema (`serializeSchema(services, handshakeSchema)` output): services,
/// their procedures with kinds and JSON schemas, and the handshake metadata schema.
struct RiverSchema: Sendable {
    /// One procedure of the schema.
    struct Procedure: Sendable {
        /// The service name.
        var service: String
        /// The procedure name.
        var name: String
        /// rpc, upload, subscription or stream.
        var kind: ProcedureKind
        /// The JSON schema of the init message.
        var initSchema: RiverValue
        /// The JSON schema of each request (upload and stream only).
        var inputSchema: RiverValue?
        /// The JSON schema of each ok result.
        var outputSchema: RiverValue
        /// The JSON schema of the service errors (usually an `anyOf`).
        var errorsSchema: RiverValue?

        /// `service.procedure`.
        var qualifiedName: String { "\(service).\(name)" }
    }

    /// Procedures by service, then by name.
    var services: [String: [String: Procedure]]
    /// The handshake metadata schema, when the file has one.
    var handshakeSchema: RiverValue?

    /// Reads and parses a schema file.
    /// - Parameter path: The file's path.
    /// - Returns: The schema.
    /// - Throws: ``CLIError`` (invalid input) when the file cannot be read or is not a schema.
    static func load(path: String) throws(CLIError) -> RiverSchema {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError(.invalidInput, "cannot read the schema file \(path)")
        }
        let value: RiverValue
        do {
            value = try JSONCodec().decodeValue(Array(data))
        } catch {
            throw CLIError(.invalidInput, "\(path): invalid JSON: \(error.message)")
        }
        return try RiverSchema(parsing: value, file: path)
    }

    /// Parses a serialized schema value.
    /// - Parameters:
    ///   - value: The decoded JSON of the file.
    ///   - file: The file name, for error messages.
    /// - Throws: ``CLIError`` (invalid input) naming what is missing.
    init(parsing value: RiverValue, file: String) throws(CLIError) {
        guard case .object(let serviceMap)? = value["services"] else {
            throw CLIError(.invalidInput, "\(file): not a River schema (no \"services\" object)")
        }
        var services: [String: [String: Procedure]] = [:]
        for (serviceName, service) in serviceMap {
            guard case .object(let procedureMap)? = service["procedures"] else {
                throw CLIError(.invalidInput, "\(file): service \(serviceName) has no \"procedures\" object")
            }
            var procedures: [String: Procedure] = [:]
            for (name, procedure) in procedureMap {
                guard let kindName = procedure["type"]?.stringValue, let kind = ProcedureKind(rawValue: kindName) else {
                    throw CLIError(.invalidInput, "\(file): \(serviceName).\(name) has no valid \"type\" (rpc, upload, subscription, stream)")
                }
                guard let initSchema = procedure["init"], let outputSchema = procedure["output"] else {
                    throw CLIError(.invalidInput, "\(file): \(serviceName).\(name) lacks \"init\" or \"output\"")
                }
                procedures[name] = Procedure(
                    service: serviceName, name: name, kind: kind, initSchema: initSchema,
                    inputSchema: procedure["input"], outputSchema: outputSchema, errorsSchema: procedure["errors"])
            }
            services[serviceName] = procedures
        }
        self.services = services
        self.handshakeSchema = value["handshakeSchema"]
    }

    /// Finds a procedure and checks that it is called with the right subcommand.
    /// - Parameters:
    ///   - service: The service name.
    ///   - name: The procedure name.
    ///   - kind: The kind the subcommand calls.
    /// - Returns: The procedure.
    /// - Throws: ``CLIError`` (invalid input) for an unknown procedure or the wrong kind.
    func procedure(service: String, name: String, calledAs kind: ProcedureKind) throws(CLIError) -> Procedure {
        guard let procedures = services[service] else {
            let known = services.keys.sorted().joined(separator: ", ")
            throw CLIError(.invalidInput, "unknown service \(service) (the schema has: \(known))")
        }
        guard let procedure = procedures[name] else {
            let known = procedures.keys.sorted().joined(separator: ", ")
            throw CLIError(.invalidInput, "unknown procedure \(service).\(name) (\(service) has: \(known))")
        }
        guard procedure.kind == kind else {
            throw CLIError(
                .invalidInput,
                "\(procedure.qualifiedName) is a\(procedure.kind == .upload ? "n" : "") \(procedure.kind.rawValue) procedure: "
                    + "use `river \(procedure.kind.subcommand)`, not `river \(kind.subcommand)`")
        }
        return procedure
    }
}

extension ProcedureKind {
    /// The `river` subcommand that calls procedures of this kind.
    var subcommand: String {
        switch self {
        case .rpc: "call"
        case .upload: "upload"
        case .subscription: "subscribe"
        case .stream: "stream"
        }
    }
}

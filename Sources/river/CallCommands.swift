import ArgumentParser
import River

/// The arguments of every calling subcommand: where, what, and the init message.
struct CallTarget: ParsableArguments {
    @Argument(help: "The server's ws:// or wss:// URL.")
    var url: String

    @Argument(help: ArgumentHelp("The procedure to call.", valueName: "service.procedure"))
    var procedure: String

    @Argument(help: ArgumentHelp("The init message as JSON (default {}).", valueName: "init-json"))
    var initJSON: String = "{}"

    /// The service and procedure names.
    var names: (service: String, procedure: String)? {
        guard let dot = procedure.lastIndex(of: ".") else { return nil }
        let service = String(procedure[..<dot])
        let name = String(procedure[procedure.index(after: dot)...])
        guard !service.isEmpty, !name.isEmpty else { return nil }
        return (service, name)
    }

    func validate() throws {
        guard names != nil else { throw ValidationError("expected service.procedure, got '\(procedure)'") }
    }
}

/// Everything a call needs, checked before connecting.
struct PreparedCall: Sendable {
    /// The service name.
    var service: String
    /// The procedure name.
    var procedure: String
    /// The init payload.
    var initPayload: RiverValue
    /// The procedure in `--schema`, if one was given.
    var schema: RiverSchema.Procedure?
    /// The handshake metadata.
    var metadata: RiverValue?

    /// Parses and validates the URL, names, init and metadata.
    /// - Throws: ``CLIError`` (invalid input).
    init(target: CallTarget, options: ConnectionOptions, kind: ProcedureKind) throws(CLIError) {
        let lowered = target.url.lowercased()
        guard lowered.hasPrefix("ws://") || lowered.hasPrefix("wss://"), target.url.count > (lowered.hasPrefix("ws://") ? 5 : 6) else {
            throw CLIError(.invalidInput, "invalid URL '\(target.url)': expected ws://host[:port][/path] or wss://host[:port][/path]")
        }
        guard let names = target.names else { throw CLIError(.invalidInput, "expected service.procedure, got '\(target.procedure)'") }
        service = names.service
        procedure = names.procedure
        let schemaFile = try options.loadSchema()
        schema = try schemaFile?.procedure(service: service, name: procedure, calledAs: kind)
        initPayload = try JSONText.parse(target.initJSON, what: "init")
        if let initSchema = schema?.initSchema, let mismatch = SchemaValidator.firstMismatch(in: initPayload, against: initSchema) {
            throw CLIError(.invalidInput, "init: \(mismatch)")
        }
        metadata = try options.handshakeMetadata(schema: schemaFile)
    }

    /// Parses and validates one request line from stdin.
    /// - Throws: ``CLIError`` (invalid input) naming the line.
    func request(_ line: StandardInputLines.Element) throws(CLIError) -> RiverValue {
        let what = "request (stdin line \(line.number))"
        let value = try JSONText.parse(line.text, what: what)
        if let input = schema?.inputSchema, let mismatch = SchemaValidator.firstMismatch(in: value, against: input) {
            throw CLIError(.invalidInput, "\(what): \(mismatch)")
        }
        return value
    }

    /// Checks a result against the procedure's output or error schema (with `--schema`), then
    /// prints it: the ok payload, or the service error as JSON on stdout and a readable line on
    /// stderr.
    /// - Returns: Whether the result was a service error.
    /// - Throws: ``CLIError`` (protocol error) naming the JSON path where a result does not
    ///   match its schema; nothing is printed for it.
    func output(_ result: Result<RiverValue, RiverServiceError>) throws(CLIError) -> Bool {
        switch result {
        case .success(let value):
            if let output = schema?.outputSchema, let mismatch = SchemaValidator.firstMismatch(in: value, against: output) {
                throw schemaViolation("result", mismatch, schemaName: "output")
            }
            Console.output(JSONText.render(value))
            return false
        case .failure(let error):
            var fields: [String: RiverValue] = ["code": .string(error.code), "message": .string(error.message)]
            if let extras = error.extras { fields["extras"] = extras }
            let value = RiverValue.object(fields)
            if let errors = schema?.errorsSchema, let mismatch = SchemaValidator.firstMismatch(in: value, against: errors) {
                throw schemaViolation("service error \(error.code)", mismatch, schemaName: "error")
            }
            Console.output(JSONText.render(value))
            Console.error("river: service error \(error.code): \(error.message)")
            return true
        }
    }

    private func schemaViolation(_ what: String, _ mismatch: SchemaValidator.Mismatch, schemaName: String) -> CLIError {
        CLIError(
            .protocolError,
            "the server sent a \(what) that does not match the \(schemaName) schema of \(service).\(procedure): \(mismatch)")
    }
}

/// `river call`: an rpc.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call an rpc procedure and print its result as one JSON line.",
        discussion: ExitStatusHelp.text)

    @OptionGroup var target: CallTarget
    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        let call: PreparedCall
        if let protoset = options.protoset { return try await ProtobufCall.run(.rpc, target: target, options: options, protoset: protoset) }
        do { call = try PreparedCall(target: target, options: options, kind: .rpc) } catch { throw error.report() }
        let procedure = RPCProcedure<RiverValue, RiverValue, RiverServiceError>(service: call.service, procedure: call.procedure)
        try await CallRunner(url: target.url, options: options, metadata: call.metadata).run { client, callOptions in
            let result = try await client.rpc(procedure, call.initPayload, options: callOptions)
            return CallOutcome(serviceErrors: try call.output(result) ? 1 : 0)
        }
    }
}

/// `river subscribe`: a subscription.
struct SubscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe",
        abstract: "Subscribe and print each result as a JSON line until the server closes or Ctrl-C.",
        discussion: ExitStatusHelp.text)

    @OptionGroup var target: CallTarget
    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        let call: PreparedCall
        if let protoset = options.protoset { return try await ProtobufCall.run(.subscription, target: target, options: options, protoset: protoset) }
        do { call = try PreparedCall(target: target, options: options, kind: .subscription) } catch { throw error.report() }
        let procedure = SubscriptionProcedure<RiverValue, RiverValue, RiverServiceError>(service: call.service, procedure: call.procedure)
        try await CallRunner(url: target.url, options: options, metadata: call.metadata).run { client, callOptions in
            try await client.subscribe(procedure, call.initPayload, options: callOptions) { results in
                var outcome = CallOutcome()
                for try await result in results {
                    if try call.output(result) { outcome.serviceErrors += 1 }
                }
                return outcome
            }
        }
    }
}

/// `river upload`: an upload, requests from stdin.
struct UploadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload the JSON lines of stdin as requests and print the result.",
        discussion: "Progress (sent/acknowledged, rate) is shown on stderr when it is a terminal. " + ExitStatusHelp.text)

    @OptionGroup var target: CallTarget
    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        let call: PreparedCall
        if let protoset = options.protoset { return try await ProtobufCall.run(.upload, target: target, options: options, protoset: protoset) }
        do { call = try PreparedCall(target: target, options: options, kind: .upload) } catch { throw error.report() }
        let procedure = UploadProcedure<RiverValue, RiverValue, RiverValue, RiverServiceError>(service: call.service, procedure: call.procedure)
        let showProgress = Console.stderrIsTerminal
        try await CallRunner(url: target.url, options: options, metadata: call.metadata).run { client, callOptions in
            let result = try await client.upload(procedure, call.initPayload, options: callOptions) { writer in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    if showProgress { group.addTask { await UploadProgress.report(writer) } }
                    for await line in StandardInputLines() {
                        try await writer.write(try call.request(line))
                    }
                    group.cancelAll()
                }
            }
            return CallOutcome(serviceErrors: try call.output(result) ? 1 : 0)
        }
    }
}

/// `river stream`: a stream, requests from stdin, results printed as they arrive.
struct StreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Send the JSON lines of stdin as requests while printing each result as a JSON line.",
        discussion: "End of stdin closes the request side; the command ends when the server closes. " + ExitStatusHelp.text)

    @OptionGroup var target: CallTarget
    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        let call: PreparedCall
        if let protoset = options.protoset { return try await ProtobufCall.run(.stream, target: target, options: options, protoset: protoset) }
        do { call = try PreparedCall(target: target, options: options, kind: .stream) } catch { throw error.report() }
        let procedure = StreamProcedure<RiverValue, RiverValue, RiverValue, RiverServiceError>(service: call.service, procedure: call.procedure)
        try await CallRunner(url: target.url, options: options, metadata: call.metadata).run { client, callOptions in
            try await client.stream(procedure, call.initPayload, options: callOptions) { writer, results in
                try await withThrowingTaskGroup(of: CallOutcome?.self) { group in
                    group.addTask {
                        for await line in StandardInputLines() {
                            try await writer.write(try call.request(line))
                        }
                        try await writer.finish()
                        return nil
                    }
                    group.addTask {
                        var outcome = CallOutcome()
                        for try await result in results {
                            if try call.output(result) { outcome.serviceErrors += 1 }
                        }
                        return outcome
                    }
                    var outcome = CallOutcome()
                    while let finished = try await group.next() {
                        guard let responses = finished else { continue }
                        // The server closed: stop reading stdin.
                        outcome = responses
                        group.cancelAll()
                    }
                    return outcome
                }
            }
        }
    }
}

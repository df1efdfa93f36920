import ArgumentParser
import Foundation
import River
import RiverWebSocket

/// The wire codec a command uses.
enum CodecName: String, ExpressibleByArgument, CaseIterable, Sendable {
    case json, msgpack

    /// The codec.
    var codec: any RiverCodec { self == .json ? JSONCodec() : MessagePackCodec() }
}

/// Options every calling subcommand shares: how to reach the server and how to call.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Wire codec: json or msgpack (must match the server).")
    var codec: CodecName = .json

    @Option(name: .customLong("server-id"), help: "The server's id.")
    var serverID: String = "SERVER"

    @Option(name: .customLong("client-id"), help: "This client's id (default: random).")
    var clientID: String?

    @Option(help: ArgumentHelp("Handshake metadata as JSON, for example '{\"token\":\"...\"}'.", valueName: "json"))
    var metadata: String?

    @Option(name: .customLong("header"), help: ArgumentHelp("An HTTP header for the WebSocket upgrade (repeatable).", valueName: "Name: value"))
    var headers: [String] = []

    @Option(help: ArgumentHelp("PEM file of CA certificates to trust for wss:// (instead of the system store).", valueName: "file"))
    var cacert: String?

    @Option(help: ArgumentHelp("PEM client certificate for mutual TLS (with --key).", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("PEM private key of --cert.", valueName: "file"))
    var key: String?

    @Flag(help: "Accept any server certificate (tests and local development only).")
    var insecure = false

    @Option(help: ArgumentHelp("Deadline for the call in seconds; on expiry the call is cancelled.", valueName: "seconds"))
    var timeout: Double?

    @Option(
        name: .customLong("connect-timeout"),
        help: ArgumentHelp(
            "How long opening a connection (TCP, TLS, upgrade) and River's handshake may each take, in seconds, "
                + "before the attempt is retried (default 2 and 1); the session's reconnect grace period is at least twice it, "
                + "and closing the connection at the end (flushing a CANCEL) may take as long (default 2).",
            valueName: "seconds"))
    var connectTimeout: Double?

    @Option(help: ArgumentHelp("River serialized schema: validate the init and each request (and, on the way back, results and service errors).", valueName: "file"))
    var schema: String?

    @Option(help: ArgumentHelp("Protobuf descriptor set (protoc --descriptor_set_out --include_imports): call a protobuf service (ProtoCodec), with requests and responses in protobuf's JSON mapping; name the method as package.Service/Method.", valueName: "file"))
    var protoset: String?

    @Option(name: .customLong("metadata-type"), help: ArgumentHelp("With --protoset: the protobuf message --metadata is encoded as.", valueName: "package.Message"))
    var metadataType: String?

    @Flag(help: "Print connection and session events on stderr.")
    var verbose = false

    @Option(help: ArgumentHelp("W3C traceparent to run the call under (sent in its stream-open message).", valueName: "value"))
    var traceparent: String?

    @Option(help: ArgumentHelp("W3C tracestate to send with --traceparent.", valueName: "value"))
    var tracestate: String?

    func validate() throws {
        if let timeout, !(timeout > 0) || !timeout.isFinite { throw ValidationError("--timeout must be a positive number of seconds") }
        if let connectTimeout, !(connectTimeout > 0) || !connectTimeout.isFinite {
            throw ValidationError("--connect-timeout must be a positive number of seconds")
        }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if let traceparent, !W3CTraceparent.isValid(traceparent) {
            throw ValidationError("--traceparent '\(traceparent)': expected 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>")
        }
        if tracestate != nil && traceparent == nil { throw ValidationError("--tracestate needs --traceparent") }
    }

    /// The call options (`--timeout`, `--traceparent`, `--tracestate`).
    var callOptions: CallOptions {
        CallOptions(
            timeout: timeout.map { .nanoseconds(Int64(($0 * 1e9).rounded())) },
            tracing: traceparent.map { TracingContext(traceparent: $0, tracestate: tracestate ?? "") })
    }

    /// Applies `--connect-timeout` to the session timings: the connect and handshake timeouts,
    /// and a grace period of at least two attempts.
    func applyTimings(to session: inout SessionStateMachine.Configuration) {
        guard let limit = connectLimit else { return }
        session.connectionTimeout = limit
        session.handshakeTimeout = limit
        session.sessionDisconnectGrace = max(session.sessionDisconnectGrace, limit * 2)
    }

    /// How long the connection may take to close at the end, flushing what was queued (a
    /// CANCEL after a signal), before it is dropped: `--connect-timeout`, else 2 s. Dropping
    /// it resets the TCP connection, which discards what the server has not read yet.
    var closeGrace: Duration { connectLimit ?? .seconds(2) }

    /// `--connect-timeout` as a duration.
    private var connectLimit: Duration? {
        connectTimeout.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
    }

    /// The WebSocket connector settings: headers and TLS.
    /// - Throws: ``CLIError`` (invalid input) for a malformed header.
    func connectorConfiguration() throws(CLIError) -> WebSocketConnector.Configuration {
        var parsed: [(name: String, value: String)] = []
        for header in headers {
            guard let colon = header.firstIndex(of: ":") else {
                throw CLIError(.invalidInput, "--header '\(header)': expected 'Name: value'")
            }
            let name = header[..<colon].trimmingCharacters(in: .whitespaces)
            let value = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }) else {
                throw CLIError(.invalidInput, "--header '\(header)': the header name is empty or has spaces")
            }
            parsed.append((name, value))
        }
        return WebSocketConnector.Configuration(
            headers: parsed,
            tls: .init(caFilePath: cacert, certificatePath: cert, privateKeyPath: key, allowInsecure: insecure))
    }

    /// The handshake metadata (`--metadata`), checked against the schema's handshake schema.
    /// - Throws: ``CLIError`` (invalid input) for malformed JSON or a schema mismatch.
    func handshakeMetadata(schema: RiverSchema?) throws(CLIError) -> RiverValue? {
        guard let metadata else { return nil }
        let value = try JSONText.parse(metadata, what: "metadata")
        if let handshake = schema?.handshakeSchema, let mismatch = SchemaValidator.firstMismatch(in: value, against: handshake) {
            throw CLIError(.invalidInput, "metadata: \(mismatch)")
        }
        return value
    }

    /// Loads `--schema`, if given.
    func loadSchema() throws(CLIError) -> RiverSchema? {
        try schema.map { path throws(CLIError) in try RiverSchema.load(path: path) }
    }
}

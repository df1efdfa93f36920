import ArgumentParser
import Foundation
import River
import RiverTestServer

/// `river-test-server`: the reference test services on a WebSocket port (see TestServer/README.md).
@main
struct RiverTestServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "river-test-server",
        abstract: "Serve River's reference test services over WebSocket on 127.0.0.1.",
        discussion: """
            Prints RIVER_PORT=<port> once listening and runs until SIGINT/SIGTERM (or end of
            stdin with --exit-on-stdin-eof).
            Fault-injection commands are read from stdin, one per line: \(RiverTestServer.faultCommandSummary).
            Each command is answered with one line on stderr.
            """
    )

    enum Codec: String, ExpressibleByArgument, CaseIterable {
        case json, msgpack
    }

    @Option(help: "Wire codec: json or msgpack.")
    var codec: Codec = .json

    @Flag(help: "Handshake mode: server id HANDSHAKE_SERVER, only test.echo, metadata {token} required.")
    var handshake = false

    @Flag(help: "Serve the protobuf service river.test.TestService over ProtoCodec (--codec is ignored; with --handshake, AuthHandshake metadata with token let-me-in is required).")
    var proto = false

    @Option(help: "TCP port (0 picks a free one).")
    var port: Int = 0

    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat interval in milliseconds.")
    var heartbeatMilliseconds: Int = 1000

    @Option(name: .customLong("heartbeats-until-dead"), help: "Silent heartbeat intervals before the server closes a connection.")
    var heartbeatsUntilDead: Int = 2

    @Option(name: .customLong("grace-ms"), help: "Session disconnect grace period in milliseconds.")
    var graceMilliseconds: Int = 5000

    @Option(name: .customLong("handshake-timeout-ms"), help: "Handshake timeout in milliseconds.")
    var handshakeTimeoutMilliseconds: Int = 1000

    @Flag(help: "Stop the server when stdin reaches end of file (by default it keeps running until a signal).")
    var exitOnStdinEOF = false

    @Flag(help: "Print the mode's services in River's serialized schema format (JSON) and exit.")
    var printSchema = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard heartbeatMilliseconds > 0, graceMilliseconds > 0, handshakeTimeoutMilliseconds > 0, heartbeatsUntilDead > 0 else {
            throw ValidationError("timings must be positive")
        }
    }

    func run() async throws {
        let (riverCodec, mode) = proto ? protobufSetup : (codec == .json ? JSONCodec() : MessagePackCodec(), handshake ? .handshake : .standard)
        let server = RiverTestServer(
            configuration: .init(
                codec: riverCodec,
                mode: mode,
                timings: .init(
                    heartbeatInterval: .milliseconds(heartbeatMilliseconds),
                    heartbeatsUntilDead: heartbeatsUntilDead,
                    sessionDisconnectGrace: .milliseconds(graceMilliseconds),
                    handshakeTimeout: .milliseconds(handshakeTimeoutMilliseconds)
                )
            ),
            logger: RiverTestServer.consoleLogger)
        if printSchema {
            let json = try JSONCodec().encodeValue(server.serializedSchema())
            FileHandle.standardOutput.write(Data(json + [UInt8(ascii: "\n")]))
            return
        }
        let exitOnEOF = exitOnStdinEOF
        // Watched before listening: a signal sent as soon as RIVER_PORT is printed must find
        // its handler in place (a harness on a loaded machine sends one within milliseconds).
        let (terminationSignals, sources) = Self.watchTerminationSignals()
        defer { for source in sources { source.cancel() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await server.run(host: "127.0.0.1", port: port) { boundPort in
                    FileHandle.standardOutput.write(Data("RIVER_PORT=\(boundPort)\n".utf8))
                }
            }
            group.addTask {
                for await _ in terminationSignals { break }
            }
            group.addTask {
                await server.serveFaultCommandsFromStandardInput()
                if !exitOnEOF {
                    // Stay up until a signal: test harnesses often close stdin.
                    try await Task.sleep(for: .seconds(365 * 24 * 3600))
                }
            }
            // The first task to finish (a signal, a bind failure, stdin EOF with
            // --exit-on-stdin-eof) ends the server.
            try await group.next()
            group.cancelAll()
        }
    }

    /// SIGINT and SIGTERM as they arrive, from now on (their default action, ending the
    /// process, is replaced); cancel the sources when done.
    static func watchTerminationSignals() -> (AsyncStream<Int32>, [any DispatchSourceSignal]) {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let (signals, continuation) = AsyncStream.makeStream(of: Int32.self)
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        return (signals, sources)
    }
}

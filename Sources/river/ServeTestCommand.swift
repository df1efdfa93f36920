import ArgumentParser
import Logging
import River
import RiverTestServer

/// `river serve-test`: the reference test server on a WebSocket port.
struct ServeTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-test",
        abstract: "Run River's reference test server on 127.0.0.1 until SIGINT or SIGTERM.",
        discussion: """
            Prints RIVER_PORT=<port> on stdout once listening. Fault-injection commands are read \
            from stdin, one per line, as river-test-server takes them: \
            \(RiverTestServer.faultCommandSummary). Each is answered with one line on stderr; \
            the end of stdin does not stop the server.
            """)

    @Option(help: "Wire codec: json or msgpack.")
    var codec: CodecName = .json

    @Option(help: "TCP port (0 picks a free one).")
    var port: Int = 0

    @Option(help: "The address to bind.")
    var host: String = "127.0.0.1"

    @Flag(help: "Handshake mode: server id HANDSHAKE_SERVER, only test.echo, metadata {\"token\":\"valid-token\"} required.")
    var handshake = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
    }

    func run() async throws {
        let signals = SignalWatcher()
        let server = RiverTestServer(
            configuration: .init(codec: codec.codec, mode: handshake ? .handshake : .standard),
            logger: Logger(label: "river.test-server", factory: { _ in SwiftLogNoOpLogHandler() }))
        let (host, port) = (self.host, self.port)
        /// Which child task ended.
        enum Ended: Sendable {
            case server, signal(Int32?), commandInput
        }
        let ended = try await withThrowingTaskGroup(of: Ended.self) { group in
            group.addTask {
                try await server.run(host: host, port: port) { bound in
                    Console.output("RIVER_PORT=\(bound)")
                }
                return .server
            }
            group.addTask { .signal(await signals.next()) }
            group.addTask {
                await server.serveFaultCommandsFromStandardInput()
                return .commandInput
            }
            // The end of stdin (a background job's is /dev/null) leaves the server running.
            var first = Ended.commandInput
            while let next = try await group.next() {
                first = next
                if case .commandInput = next { continue }
                break
            }
            group.cancelAll()
            return first
        }
        if case .signal(let number?) = ended { Console.error("river: \(SignalWatcher.name(number)): server stopped") }
    }
}

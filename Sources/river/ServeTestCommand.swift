import ArgumentParser
import Logging
import River
import RiverTestServer

/// `river serve-test`: the reference test server on a WebSocket port.
struct ServeTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-test",
        abstract: "Run River's reference test server on 127.0.0.1 until SIGINT or SIGTERM.",
        discussion: "Prints RIVER_PORT=<port> on stdout once listening.")

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
        let stopped: Int32? = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask {
                try await server.run(host: host, port: port) { bound in
                    Console.output("RIVER_PORT=\(bound)")
                }
                return nil
            }
            group.addTask { await signals.next() }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if let stopped { Console.error("river: \(SignalWatcher.name(stopped)): server stopped") }
    }
}

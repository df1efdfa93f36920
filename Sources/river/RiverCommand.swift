import ArgumentParser

/// `river`: call River procedures from the command line (what grpcurl is to gRPC).
@main
struct RiverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "river",
        abstract: "Call River (protocol v2.0) procedures over WebSocket from the command line.",
        discussion: """
            JSON conventions: bytes are {"$t": "<base64>"}, big integers {"$b": "<decimal>"}. \
            Results are printed one JSON line each on stdout, flushed at once.

            \(ExitStatusHelp.text)
            """,
        subcommands: [
            CallCommand.self, SubscribeCommand.self, UploadCommand.self, StreamCommand.self,
            ListCommand.self, DemoCommand.self, ServeTestCommand.self,
        ])

    static func main() async {
        Console.ignoreBrokenPipes()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

import Foundation

/// The fault-injection console: the text commands of ``RiverTestServer/execute(command:)`` read
/// one per line, as both `river-test-server` and `river serve-test` take them on stdin.
extension RiverTestServer {
    /// The commands ``execute(command:)`` understands, for help texts.
    public static let faultCommandSummary =
        "drop, blackhole, unblackhole, restart, heartbeats on|off, delay <ms>, rehandshake, status"

    /// Runs every non-blank line of `lines` as a fault command and passes each reply to `reply`,
    /// until `lines` ends or the task is cancelled.
    /// - Parameters:
    ///   - lines: The command lines.
    ///   - reply: Receives each command's one-line reply (`ok …` or `error: …`).
    public func serveFaultCommands<Lines: AsyncSequence<String, Never>>(
        from lines: Lines, reply: (String) -> Void
    ) async {
        for await line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            reply(execute(command: trimmed))
        }
    }

    /// Runs the fault commands read from standard input, answering each with one line on
    /// standard error, until standard input ends or the task is cancelled.
    public func serveFaultCommandsFromStandardInput() async {
        await serveFaultCommands(from: Self.standardInputLines()) { reply in
            FileHandle.standardError.write(Data("\(reply)\n".utf8))
        }
    }

    /// Lines of stdin. A dedicated thread does the blocking reads (stdin has no async API on
    /// Linux); the stream ends with stdin, its iteration with the iterating task.
    private static func standardInputLines() -> AsyncStream<String> {
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        Thread.detachNewThread {
            while let line = readLine(strippingNewline: true) { continuation.yield(line) }
            continuation.finish()
        }
        return lines
    }
}

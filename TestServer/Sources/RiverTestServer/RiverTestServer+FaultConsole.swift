import River
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
            let words = line.split(whereSeparator: \.isWhitespace)
            guard !words.isEmpty else { continue }
            reply(execute(command: words.joined(separator: " ")))
        }
    }

    /// Runs the fault commands read from standard input, answering each with one line on
    /// standard error, until standard input ends or the task is cancelled.
    public func serveFaultCommandsFromStandardInput() async {
        await serveFaultCommands(from: Self.standardInputLines()) { reply in
            Self.writeToStandardError("\(reply)\n")
        }
    }

    /// Lines of stdin. A dedicated thread does the blocking reads (stdin has no async API on
    /// Linux); the stream ends with stdin, its iteration with the iterating task.
    private static func standardInputLines() -> AsyncStream<String> {
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        do {
            try SystemThread.start(name: "fault-console", stackSize: 256 << 10) {
                while let line = readLine(strippingNewline: true) { continuation.yield(line) }
                continuation.finish()
            }
        } catch {
            writeToStandardError("fault console unavailable: \(error)\n")
            continuation.finish()
        }
        return lines
    }

    private static func writeToStandardError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    }
}

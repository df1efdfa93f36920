import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGINT and SIGTERM into an async sequence of signal numbers (DispatchSourceSignal),
/// so a command can cancel its work from a structured scope instead of being killed.
final class SignalWatcher: Sendable {
    /// The signals that arrived, in order.
    let signals: AsyncStream<Int32>
    // DispatchSourceSignal is thread-safe but not marked Sendable; the array is immutable.
    private nonisolated(unsafe) let sources: [any DispatchSourceSignal]

    /// Starts watching `numbers`: their default action (ending the process) is replaced.
    /// - Parameter numbers: The signals, by default SIGINT and SIGTERM.
    init(_ numbers: [Int32] = [SIGINT, SIGTERM]) {
        let (signals, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.signals = signals
        self.sources = numbers.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    /// Waits for the next signal; `nil` when the task is cancelled.
    func next() async -> Int32? {
        for await number in signals { return number }
        return nil
    }

    deinit {
        for source in sources { source.cancel() }
    }

    /// The signal's name (`SIGINT`).
    static func name(_ number: Int32) -> String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(number)"
        }
    }
}

import Dispatch
import Foundation

/// The non-blank lines of standard input with their line numbers, read by a dedicated thread
/// (stdin has no async API on Linux). At most `window` lines are read ahead of the consumer,
/// so a large upload is not read into memory at once.
struct StandardInputLines: AsyncSequence, Sendable {
    /// A line and its 1-based line number.
    typealias Element = (number: Int, text: String)

    private let lines: AsyncStream<Element>
    private let credits: DispatchSemaphore

    /// Starts the reader thread.
    /// - Parameter window: How many lines may be read ahead.
    init(window: Int = 256) {
        let (lines, continuation) = AsyncStream.makeStream(of: Element.self)
        // Created at 0 and raised: libdispatch traps when a semaphore is freed while its
        // value is below the value it was created with.
        let credits = DispatchSemaphore(value: 0)
        for _ in 0..<Swift.max(window, 1) { credits.signal() }
        self.lines = lines
        self.credits = credits
        Thread.detachNewThread {
            var number = 0
            while true {
                credits.wait()
                guard let line = readLine(strippingNewline: true) else { break }
                number += 1
                if line.allSatisfy(\.isWhitespace) {
                    credits.signal()
                    continue
                }
                continuation.yield((number, line))
            }
            continuation.finish()
        }
    }

    /// Iterates the lines; ends at end of input or when the task is cancelled.
    struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<Element>.AsyncIterator
        let credits: DispatchSemaphore

        /// The next line.
        mutating func next() async -> Element? {
            guard let element = await base.next() else { return nil }
            credits.signal()
            return element
        }
    }

    /// Creates the iterator (iterate once).
    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: lines.makeAsyncIterator(), credits: credits)
    }
}

import Dispatch
import Synchronization

/// Hands a connection's events to a handler in order: on the connection's I/O thread while
/// that is cheap, and on a serial queue of its own for a large message (and for whatever
/// arrives while queued work is unfinished).
///
/// Connections that deliver by callback (``RiverConnection/deliverEvents(to:)``) call back on
/// an I/O thread that every connection of the process shares; decoding a message of many
/// megabytes there would stall the others' reads, writes and heartbeats.
package final class ConnectionEventDispatcher: Sendable {
    /// Messages at least this large are handled off the I/O thread.
    package static let largeMessageBytes = 256 * 1024

    private let handler: @Sendable (RiverConnectionEvent) -> Void
    /// Events handed to the queue and not handled yet.
    private let queued = Atomic<Int>(0)
    private let queue: DispatchQueue

    /// A dispatcher feeding `handler`; `label` names its queue.
    package init(label: String, handler: @escaping @Sendable (RiverConnectionEvent) -> Void) {
        self.handler = handler
        queue = DispatchQueue(label: label)
    }

    /// Handles `event` now, or after the queued events on the queue. Call it from one thread
    /// at a time (a connection's callbacks are serial).
    package func dispatch(_ event: RiverConnectionEvent) {
        let large = if case .message(let bytes) = event { bytes.count >= Self.largeMessageBytes } else { false }
        // Inline only once everything queued has been handled (the count drops after each).
        if !large && queued.load(ordering: .acquiring) == 0 {
            handler(event)
            return
        }
        queued.add(1, ordering: .relaxed)
        queue.async { [self] in
            handler(event)
            queued.subtract(1, ordering: .releasing)
        }
    }
}

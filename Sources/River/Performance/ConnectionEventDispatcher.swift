import Dispatch
import Synchronization

/// Hands a connection's events to a handler in order: on the connection's I/O thread while
/// that is cheap, and on a serial queue of its own for a large message (and for whatever
/// arrives while queued work is unfinished).
///
/// Connections that deliver by callback (``RiverFastPathConnection/deliverEvents(to:)``) call back on
/// an I/O thread that every connection of the process shares; decoding a message of many
/// megabytes there would stall the others' reads, writes and heartbeats.
///
/// The queue is bounded without ever holding the I/O thread: once more than
/// `maximumQueuedBytes` wait, the dispatcher asks the connection to stop reading
/// (``RiverConnection/setReceivingPaused(_:)``, libwebsockets' per-connection rx flow control)
/// and lets it read again once the queue has drained to half of that. A peer that sends faster
/// than its messages can be handled is slowed down by TCP, and only that peer: the shared I/O
/// thread keeps serving every other connection.
package final class ConnectionEventDispatcher: Sendable {
    /// Messages at least this large are handled off the I/O thread.
    package static let largeMessageBytes = 256 * 1024

    private struct Backlog {
        /// Events handed to the queue and not handled yet.
        var events = 0
        /// Their message bytes.
        var bytes = 0
        /// Reading is paused until the queue drains to half the limit.
        var receivingPaused = false
    }

    private let handler: @Sendable (consuming RiverConnectionEvent) -> Void
    private let pauseReceiving: @Sendable (Bool) -> Void
    private let backlog = AdaptiveMutex(Backlog())
    private let maximumQueuedBytes: Int
    private let queue: DispatchQueue

    /// A dispatcher feeding `handler`; `label` names its queue.
    /// - Parameters:
    ///   - maximumQueuedBytes: Message bytes the queue may hold before reading is paused.
    ///   - pauseReceiving: Pauses (`true`) or resumes (`false`) reading from the connection;
    ///     called in order, under the dispatcher's lock, from the dispatching thread or the
    ///     queue. Usually ``RiverConnection/setReceivingPaused(_:)``.
    package init(
        label: String,
        maximumQueuedBytes: Int = 64 << 20,
        pauseReceiving: @escaping @Sendable (Bool) -> Void,
        handler: @escaping @Sendable (consuming RiverConnectionEvent) -> Void
    ) {
        self.handler = handler
        self.pauseReceiving = pauseReceiving
        self.maximumQueuedBytes = maximumQueuedBytes
        queue = DispatchQueue(label: label)
    }

    /// Handles `event` now, or after the queued events on the queue. Never blocks. Call it
    /// from one thread at a time (a connection's callbacks are serial).
    package func dispatch(_ event: consuming RiverConnectionEvent) {
        let size = if case .message(let bytes) = event { bytes.count } else { 0 }
        let inline = backlog.withLock { backlog -> Bool in
            // Inline only once everything queued has been handled.
            if size < Self.largeMessageBytes && backlog.events == 0 { return true }
            backlog.events += 1
            backlog.bytes += size
            if backlog.bytes > maximumQueuedBytes && !backlog.receivingPaused {
                backlog.receivingPaused = true
                // Under the lock, so a pause and the resume after it reach the connection in order.
                pauseReceiving(true)
            }
            return false
        }
        if inline {
            handler(consume event)
            return
        }
        // Handed over through a box the queue empties, so that the handler holds the only
        // reference to a large message and can free it as soon as it has decoded it.
        let pending = PendingEvent(consume event)
        queue.async { [self] in
            if let event = pending.take() { handler(consume event) }
            backlog.withLock { backlog in
                backlog.events -= 1
                backlog.bytes -= size
                if backlog.receivingPaused && backlog.bytes <= maximumQueuedBytes / 2 {
                    backlog.receivingPaused = false
                    pauseReceiving(false)
                }
            }
        }
    }

    /// Message bytes waiting on the queue (for tests).
    package var queuedBytes: Int { backlog.withLock { $0.bytes } }
}

/// An event on its way to the dispatcher's queue, taken out exactly once there.
private final class PendingEvent: Sendable {
    private let event: Mutex<RiverConnectionEvent?>
    init(_ event: consuming RiverConnectionEvent) { self.event = Mutex(event) }
    func take() -> RiverConnectionEvent? { event.withLock { $0.take() } }
}

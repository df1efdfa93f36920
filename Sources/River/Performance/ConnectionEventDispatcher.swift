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
/// The queue is bounded: once more than `maximumQueuedBytes` wait, ``dispatch(_:)`` holds the
/// I/O thread until the queue has drained to half of that, so a peer that sends faster than
/// its messages can be handled is slowed down by TCP instead of filling memory.
package final class ConnectionEventDispatcher: Sendable {
    /// Messages at least this large are handled off the I/O thread.
    package static let largeMessageBytes = 256 * 1024

    private struct Backlog {
        /// Events handed to the queue and not handled yet.
        var events = 0
        /// Their message bytes.
        var bytes = 0
        /// The I/O thread, waiting for the queue to drain.
        var waiter: DispatchSemaphore?
    }

    private let handler: @Sendable (RiverConnectionEvent) -> Void
    private let backlog = AdaptiveMutex(Backlog())
    private let maximumQueuedBytes: Int
    private let queue: DispatchQueue

    /// A dispatcher feeding `handler`; `label` names its queue.
    /// - Parameter maximumQueuedBytes: Message bytes the queue may hold before the I/O thread
    ///   waits for it.
    package init(
        label: String, maximumQueuedBytes: Int = 64 << 20, handler: @escaping @Sendable (RiverConnectionEvent) -> Void
    ) {
        self.handler = handler
        self.maximumQueuedBytes = maximumQueuedBytes
        queue = DispatchQueue(label: label)
    }

    /// Handles `event` now, or after the queued events on the queue. Call it from one thread
    /// at a time (a connection's callbacks are serial).
    package func dispatch(_ event: RiverConnectionEvent) {
        let size = if case .message(let bytes) = event { bytes.count } else { 0 }
        enum Route {
            case inline
            case queued
            case queuedThenWait(DispatchSemaphore)
        }
        let route = backlog.withLock { backlog -> Route in
            // Inline only once everything queued has been handled.
            if size < Self.largeMessageBytes && backlog.events == 0 { return .inline }
            backlog.events += 1
            backlog.bytes += size
            guard backlog.bytes > maximumQueuedBytes else { return .queued }
            let waiter = DispatchSemaphore(value: 0)
            backlog.waiter = waiter
            return .queuedThenWait(waiter)
        }
        if case .inline = route {
            handler(event)
            return
        }
        queue.async { [self] in
            handler(event)
            let waiter = backlog.withLock { backlog -> DispatchSemaphore? in
                backlog.events -= 1
                backlog.bytes -= size
                guard let waiter = backlog.waiter, backlog.bytes <= maximumQueuedBytes / 2 else { return nil }
                backlog.waiter = nil
                return waiter
            }
            waiter?.signal()
        }
        if case .queuedThenWait(let waiter) = route { waiter.wait() }
    }

    /// Message bytes waiting on the queue (for tests).
    package var queuedBytes: Int { backlog.withLock { $0.bytes } }
}

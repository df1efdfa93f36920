import DequeModule

/// One call's inbound events: the transport queues them in order, one task reads them.
///
/// Lighter than an `AsyncStream` per call, and it lets the transport queue under its own lock
/// but wake the reader only after releasing it (``push(_:)`` returns the reader to resume).
package final class CallInbox: Sendable {
    private struct State {
        /// The oldest queued event, kept inline: an rpc's inbox never holds more than one, so
        /// it never allocates queue storage.
        var head: ClientTransport.StreamEvent?
        /// The events after `head`, in order.
        var rest: Deque<ClientTransport.StreamEvent> = []
        var ended = false
        var reader: UnsafeContinuation<Void, Never>?

        var isEmpty: Bool { head == nil }

        mutating func append(_ event: ClientTransport.StreamEvent) {
            if head == nil { head = event } else { rest.append(event) }
        }

        mutating func popFirst() -> ClientTransport.StreamEvent? {
            guard let first = head.take() else { return nil }
            head = rest.popFirst()
            return first
        }
    }

    /// A pthread mutex rather than `Synchronization.Mutex`: ThreadSanitizer sees it order the
    /// hand-over of the reader's continuation between threads (it does not model the futex
    /// `Mutex` uses on Linux, and reports every such hand-over as a race).
    private let state = AdaptiveMutex(State())

    /// An open, empty inbox.
    package init() {}

    /// Queues `event` unless the inbox has ended.
    /// - Returns: The waiting reader, to be resumed by the caller (outside its locks).
    package func push(_ event: ClientTransport.StreamEvent) -> UnsafeContinuation<Void, Never>? {
        state.withLock { state in
            guard !state.ended else { return nil }
            state.append(event)
            defer { state.reader = nil }
            return state.reader
        }
    }

    /// Ends the inbox: the reader gets what is queued, then `nil`. Later pushes are dropped.
    /// - Returns: The waiting reader, to be resumed by the caller (outside its locks).
    package func end() -> UnsafeContinuation<Void, Never>? {
        state.withLock { state in
            state.ended = true
            defer { state.reader = nil }
            return state.reader
        }
    }

    /// The next event, or `nil` once the inbox ended and is drained, or (when
    /// `interruptible`) when the reading task is cancelled while nothing is queued. One reader
    /// at a time.
    package func next(interruptible: Bool = true) async -> ClientTransport.StreamEvent? {
        await waitForEvent(interruptible: interruptible)
        return take()
    }

    /// Waits until an event is queued or the inbox ended, or (when `interruptible`) the
    /// reading task is cancelled; ``take()`` then returns what there is. One reader at a time.
    ///
    /// Readers inside a call's lifetime pass `interruptible: false`: the lifetime cancels the
    /// call on task cancellation, which ends the inbox and wakes them, and they skip the cost of
    /// a cancellation handler per wait.
    ///
    /// Waiting and taking are apart so that no event passes through the waiting function: the
    /// async frame of a waiting reader is what an idle subscription costs, and an event
    /// (a whole message) held there, with the temporaries of handling it, made that frame
    /// several kilobytes.
    package func waitForEvent(interruptible: Bool) async {
        guard interruptible else { return await wait(interruptible: false) }
        await withTaskCancellationHandler {
            await wait(interruptible: true)
        } onCancel: {
            let reader = state.withLock { state -> UnsafeContinuation<Void, Never>? in
                defer { state.reader = nil }
                return state.reader
            }
            reader?.resume()
        }
    }

    /// The oldest queued event, if any (`nil`: the inbox ended and is drained, or nothing came).
    @inline(never)
    package func take() -> ClientTransport.StreamEvent? {
        state.withLock { $0.popFirst() }
    }

    /// Parks the reader until a push, the end, or (when `interruptible`) cancellation. The
    /// continuation is resumed exactly once: whoever takes it out of `reader` under the lock
    /// resumes it, or this function does when it never stored it.
    private func wait(interruptible: Bool) async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if !state.isEmpty || state.ended || (interruptible && Task.isCancelled) { return true }
                state.reader = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }
}

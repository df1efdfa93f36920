import DequeModule

/// Told when a ``CallInbox`` that nobody waits on gets events: a subscription group's member,
/// whose events its group reads without a task waiting on each inbox.
package protocol CallInboxListener: AnyObject, Sendable {
    /// The inbox went from holding nothing the listener was told of to holding events (or to
    /// its end). Called under the inbox's lock (and the transport's): it must only queue.
    /// - Returns: A reader to resume, by the caller, outside its locks.
    func inboxBecameReady() -> UnsafeContinuation<Void, Never>?
}

/// One call's inbound events: the transport queues them in order, one task reads them, or a
/// listener (``listen(_:)``) is told and its owner takes them (``takeSignalled()``).
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
        /// Told when events arrive while nobody waits; dropped at the end (it refers back to
        /// the call that holds this inbox).
        var listener: (any CallInboxListener)?
        /// The listener was told of the events queued now (and is not told again until
        /// ``takeSignalled()`` has emptied the inbox).
        var signalled = false

        var isEmpty: Bool { head == nil }

        mutating func append(_ event: ClientTransport.StreamEvent) {
            if head == nil { head = event } else { rest.append(event) }
        }

        mutating func popFirst() -> ClientTransport.StreamEvent? {
            guard let first = head.take() else { return nil }
            head = rest.popFirst()
            return first
        }

        /// The waiting reader, or else what the listener returns when it is told of events
        /// for the first time since the inbox was last emptied.
        mutating func wakeup() -> UnsafeContinuation<Void, Never>? {
            if let reader = reader.take() { return reader }
            guard let listener, !signalled else { return nil }
            signalled = true
            return listener.inboxBecameReady()
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
            return state.wakeup()
        }
    }

    /// Ends the inbox: the reader gets what is queued, then `nil`. Later pushes are dropped.
    /// - Returns: The waiting reader, to be resumed by the caller (outside its locks).
    package func end() -> UnsafeContinuation<Void, Never>? {
        state.withLock { state in
            state.ended = true
            defer { state.listener = nil }
            return state.wakeup()
        }
    }

    /// Tells `listener` whenever events arrive while nobody waits, instead of a reader waiting
    /// (``next(interruptible:)``); until the inbox ends.
    package func listen(_ listener: any CallInboxListener) {
        let wakeup = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard !state.ended else { return nil }
            state.listener = listener
            return state.isEmpty ? nil : state.wakeup()
        }
        wakeup?.resume()
    }

    /// The oldest queued event for the listener's owner, and whether more are queued. When
    /// none are left, the listener is told again of the next event.
    @inline(never)
    package func takeSignalled() -> (event: ClientTransport.StreamEvent?, more: Bool) {
        state.withLock { state in
            let event = state.popFirst()
            if state.isEmpty { state.signalled = false }
            return (event, !state.isEmpty)
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

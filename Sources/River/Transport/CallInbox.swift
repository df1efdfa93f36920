import DequeModule
import Synchronization

/// One call's inbound events: the transport queues them in order, one task reads them.
///
/// Lighter than an `AsyncStream` per call, and it lets the transport queue under its own lock
/// but wake the reader only after releasing it (``push(_:)`` returns the reader to resume).
package final class CallInbox: Sendable {
    private struct State {
        var queue: Deque<ClientTransport.StreamEvent> = []
        var ended = false
        var reader: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// An open, empty inbox.
    package init() {}

    /// Queues `event` unless the inbox has ended.
    /// - Returns: The waiting reader, to be resumed by the caller (outside its locks).
    package func push(_ event: ClientTransport.StreamEvent) -> CheckedContinuation<Void, Never>? {
        state.withLock { state in
            guard !state.ended else { return nil }
            state.queue.append(event)
            defer { state.reader = nil }
            return state.reader
        }
    }

    /// Ends the inbox: the reader gets what is queued, then `nil`. Later pushes are dropped.
    /// - Returns: The waiting reader, to be resumed by the caller (outside its locks).
    package func end() -> CheckedContinuation<Void, Never>? {
        state.withLock { state in
            state.ended = true
            defer { state.reader = nil }
            return state.reader
        }
    }

    /// The next event, or `nil` once the inbox ended and is drained, or when the reading task
    /// is cancelled while nothing is queued. One reader at a time.
    package func next() async -> ClientTransport.StreamEvent? {
        while true {
            enum Step {
                case event(ClientTransport.StreamEvent)
                case end
                case wait
            }
            let step = state.withLock { state -> Step in
                if let event = state.queue.popFirst() { return .event(event) }
                return state.ended ? .end : .wait
            }
            switch step {
            case .event(let event): return event
            case .end: return nil
            case .wait: if Task.isCancelled { return nil }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state -> Bool in
                        if !state.queue.isEmpty || state.ended || Task.isCancelled { return true }
                        state.reader = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                let reader = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    defer { state.reader = nil }
                    return state.reader
                }
                reader?.resume()
            }
        }
    }
}

public import River
import Synchronization

/// A ``RequestSink`` that keeps what the code under test writes, for a fake of a generated
/// `ClientProtocol`: hand it to the code as `RequestWriter(sink)` (or, for a protobuf service,
/// `ProtobufRequestWriter(sink)`), then check ``requests``, ``isFinished`` and ``isCancelled``.
///
/// Its ``ended()`` returns when the writer cancels (with a CANCEL error) or ``end(with:)``
/// ends the fake call (`nil` for a clean end), so code that races its writes against
/// `RequestWriter.ended()` can be tested too.
public final class RecordingRequestSink<Input: Sendable>: RequestSink {
    private struct State {
        var requests: [Input] = []
        var finished = false
        var cancelled = false
        var ending: RiverError?? = .none
        var enders: [UInt64: CheckedContinuation<RiverError?, Never>] = [:]
        var nextEnderID: UInt64 = 0
    }

    private let state = Mutex(State())
    private let refusal: (@Sendable (Input) -> RiverError?)?

    /// Creates an empty sink.
    /// - Parameter refusal: Decides whether a write fails and with what error (a payload too
    ///   large, a lost session); `nil` takes every request.
    public init(refusing refusal: (@Sendable (Input) -> RiverError?)? = nil) {
        self.refusal = refusal
    }

    /// The requests written so far, in order.
    public var requests: [Input] { state.withLock { $0.requests } }

    /// Whether the writer closed the request side.
    public var isFinished: Bool { state.withLock { $0.finished } }

    /// Whether the writer cancelled the call.
    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Keeps `request`, or throws the error the refusal gives it, or CANCEL once the request
    /// side is closed or the call ended.
    public func write(_ request: Input) async throws {
        if let error = refusal?(request) { throw error }
        try state.withLock { state throws(RiverError) in
            guard !state.finished, !state.cancelled, case .none = state.ending else {
                throw RiverError(code: .cancel, message: "the request side is closed")
            }
            state.requests.append(request)
        }
    }

    /// Marks the request side closed.
    public func finish() async throws {
        state.withLock { $0.finished = true }
    }

    /// Marks the call cancelled and ends it with a CANCEL error.
    public func cancel() {
        state.withLock { $0.cancelled = true }
        end(with: RiverError(code: .cancel, message: "cancelled by client"))
    }

    /// Every request written counts as acknowledged.
    public var progress: (sent: Int, acknowledged: Int) {
        let count = state.withLock { $0.requests.count }
        return (count, count)
    }

    /// Ends the fake call: ``ended()`` returns `error` (`nil` for a clean end) to every waiter,
    /// now and later. Only the first end counts.
    public func end(with error: RiverError?) {
        let waiters = state.withLock { state -> Dictionary<UInt64, CheckedContinuation<RiverError?, Never>>.Values in
            guard case .none = state.ending else { return [:].values }
            state.ending = .some(error)
            defer { state.enders = [:] }
            return state.enders.values
        }
        for waiter in waiters { waiter.resume(returning: error) }
    }

    /// Waits until ``end(with:)`` or ``cancel()`` ends the fake call; returns `nil` at once
    /// when the waiting task is cancelled, as a live writer's `ended()` does.
    public func ended() async -> RiverError? {
        let id = state.withLock { state in
            defer { state.nextEnderID &+= 1 }
            return state.nextEnderID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ending = state.withLock { state -> RiverError?? in
                    guard case .none = state.ending else { return state.ending }
                    if Task.isCancelled { return .some(nil) }
                    state.enders[id] = continuation
                    return .none
                }
                if case .some(let error) = ending { continuation.resume(returning: error) }
            }
        } onCancel: {
            state.withLock { $0.enders.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }
}

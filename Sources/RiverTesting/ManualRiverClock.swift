public import River
import Synchronization

/// A ``RiverClock`` that moves only when told (``advance(by:)``): inject it through
/// `RiverClient.Configuration.clock` to test heartbeats, timeouts, grace periods, backoff and
/// call deadlines without waiting.
///
/// Advancing runs every scheduled action and wakes every sleeper whose deadline has come, in
/// deadline order. What they set off (a timer tick, a call ending) then runs on its own task:
/// tests wait for its effect, not for the clock.
public final class ManualRiverClock: RiverClock {
    private struct Sleeper {
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: ContinuousClock.Instant
        var scheduled: [(deadline: ContinuousClock.Instant, action: @Sendable () -> Void)] = []
        var sleepers: [UInt64: Sleeper] = [:]
        var nextSleeperID: UInt64 = 0
    }

    private let state: Mutex<State>

    /// A clock that reads `start` until advanced.
    public init(start: ContinuousClock.Instant = .now) {
        state = Mutex(State(now: start))
    }

    /// The current (manual) instant.
    public var now: ContinuousClock.Instant { state.withLock { $0.now } }

    /// How many tasks sleep on this clock (a test waits for a call's deadline to be armed).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// How many scheduled actions wait for their deadline.
    public var scheduledCount: Int { state.withLock { $0.scheduled.count } }

    /// Moves time forward by `duration`, running what came due.
    public func advance(by duration: Duration) {
        let (actions, woken) = state.withLock { state -> ([@Sendable () -> Void], [CheckedContinuation<Void, any Error>]) in
            state.now = state.now + duration
            let now = state.now
            let due = state.scheduled.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.scheduled.removeAll { $0.deadline <= now }
            let wake = state.sleepers.filter { $0.value.deadline <= now }.sorted { $0.value.deadline < $1.value.deadline }
            for (id, _) in wake { state.sleepers.removeValue(forKey: id) }
            return (due.map(\.action), wake.map(\.value.continuation))
        }
        for action in actions { action() }
        for sleeper in woken { sleeper.resume() }
    }

    /// Runs `action` when the clock reaches `deadline` (at once when it has).
    public func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if deadline <= state.now { return true }
            state.scheduled.append((deadline, action))
            return false
        }
        if runNow { action() }
    }

    /// Suspends until the clock reaches `deadline`.
    /// - Throws: `CancellationError` when the task is cancelled first.
    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextSleeperID += 1 }
            return state.nextSleeperID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}

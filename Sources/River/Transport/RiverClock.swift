import Dispatch

/// Where a client reads the time and waits: its heartbeat watchdog, handshake and connect
/// timeouts, grace period, backoff and call deadlines all go through one.
///
/// Production uses ``ContinuousRiverClock``; tests inject a manual clock (`ManualRiverClock` in
/// the `RiverTesting` library) through ``RiverClient/Configuration/clock`` and move time by
/// hand, so timing behaviour is tested without waiting and without flaking under load.
public protocol RiverClock: Sendable {
    /// The current instant.
    var now: ContinuousClock.Instant { get }

    /// Calls `action` once, at `deadline` or soon after (at once when it has passed), on any
    /// thread. There is no cancelling it: callers ignore wake-ups they no longer need.
    func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void)

    /// Suspends until `deadline`.
    /// - Throws: `CancellationError` when the task is cancelled first.
    func sleep(until deadline: ContinuousClock.Instant) async throws
}

/// The real clock: `ContinuousClock`, with Dispatch timers for ``schedule(at:_:)``.
public struct ContinuousRiverClock: RiverClock {
    /// Creates the clock.
    public init() {}

    /// `ContinuousClock.now`.
    public var now: ContinuousClock.Instant { .now }

    /// Runs `action` on a global queue when `deadline` has passed.
    public func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) {
        let nanoseconds = max(0, ContinuousClock.now.duration(to: deadline).clampedNanoseconds)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(min(nanoseconds, Int64.max - 1)) + 1), execute: action)
    }

    /// `Task.sleep(until:clock:)` on the continuous clock.
    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await Task.sleep(until: deadline, clock: .continuous)
    }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to `Int64`'s range, so that a huge timeout
    /// never overflows.
    package var clampedNanoseconds: Int64 {
        let (whole, overflow) = components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return components.seconds < 0 ? .min : .max }
        let (total, overflowAgain) = whole.addingReportingOverflow(components.attoseconds / 1_000_000_000)
        if overflowAgain { return whole < 0 ? .min : .max }
        return total
    }
}

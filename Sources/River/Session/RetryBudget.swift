/// The reference client's leaky-bucket reconnect budget, as a value (time is an input).
///
/// Each connection attempt consumes one unit; when the whole budget is consumed no further
/// attempt is made. After a successful handshake one unit is restored every
/// `restoreInterval` until the bucket is empty again; consuming stops the restoring.
/// The backoff before attempt *k* (k units consumed, k ≥ 1) is
/// `min(base · 2^(k−1), max) + jitter`, and 0 before the first attempt.
public struct RetryBudget: Sendable, Hashable {
    /// Backoff and budget settings.
    public struct Configuration: Sendable, Hashable {
        /// Base backoff interval (reference: 150 ms).
        public var baseInterval: Duration
        /// Upper bound of the random jitter added to each backoff (reference: 200 ms).
        public var maxJitter: Duration
        /// Cap on the backoff before jitter (reference: 32 s).
        public var maxBackoff: Duration
        /// Attempts allowed before a successful handshake (reference: 5).
        public var attemptBudgetCapacity: Int
        /// After a successful handshake, one unit is restored per interval (reference: 200 ms).
        public var budgetRestoreInterval: Duration

        /// Creates settings; the defaults equal the reference client's.
        public init(
            baseInterval: Duration = .milliseconds(150),
            maxJitter: Duration = .milliseconds(200),
            maxBackoff: Duration = .seconds(32),
            attemptBudgetCapacity: Int = 5,
            budgetRestoreInterval: Duration = .milliseconds(200)
        ) {
            self.baseInterval = baseInterval
            self.maxJitter = maxJitter
            self.maxBackoff = maxBackoff
            self.attemptBudgetCapacity = attemptBudgetCapacity
            self.budgetRestoreInterval = budgetRestoreInterval
        }

        /// The reference client's settings.
        public static let defaults = Configuration()
    }

    /// The settings.
    public var configuration: Configuration
    /// Units consumed and not yet restored.
    public private(set) var consumed = 0
    /// When restoring, the time the next unit comes back.
    public private(set) var nextRestore: ContinuousClock.Instant?

    /// Creates a full budget.
    public init(configuration: Configuration = .defaults) {
        self.configuration = configuration
    }

    /// Whether another attempt may be made.
    public var hasBudget: Bool { consumed < configuration.attemptBudgetCapacity }

    /// The backoff for the next attempt, before consuming.
    /// - Parameter jitterFraction: A number in `0..<1` (from the injected random source).
    public func backoff(jitterFraction: Double) -> Duration {
        guard consumed > 0 else { return .zero }
        let exponent = min(consumed - 1, 30)
        let exponential = configuration.baseInterval * (1 << exponent)
        let capped = min(exponential, configuration.maxBackoff)
        let jitterMs = (Double(configuration.maxJitter.components.seconds) * 1000
            + Double(configuration.maxJitter.components.attoseconds) / 1e15) * min(max(jitterFraction, 0), 1)
        return capped + .milliseconds(Int64(jitterMs.rounded(.down)))
    }

    /// Consumes one unit and stops restoring.
    public mutating func consume() {
        nextRestore = nil
        consumed += 1
    }

    /// Starts restoring one unit per interval from `now` (no-op when already restoring).
    public mutating func startRestoring(now: ContinuousClock.Instant) {
        guard nextRestore == nil, consumed > 0 else { return }
        nextRestore = now + configuration.budgetRestoreInterval
    }

    /// Restores the units due by `now`.
    public mutating func advance(to now: ContinuousClock.Instant) {
        while let due = nextRestore, due <= now {
            consumed -= 1
            nextRestore = consumed > 0 ? due + configuration.budgetRestoreInterval : nil
        }
    }
}

/// Retries idempotent rpcs that failed because the session was lost.
///
/// River never resends the messages of a destroyed session (the server may or may not have
/// acted on them), so an rpc in flight when the server restarts fails with
/// `UNEXPECTED_DISCONNECT`. For procedures the application knows to be idempotent, this
/// interceptor calls again, after a backoff, on a new session. Opt-in per procedure; rpcs
/// only (the other kinds run the caller's body, which cannot be replayed):
///
/// ```swift
/// configuration.interceptors = [RetryInterceptor(retrying: [Test.Add.procedure.descriptor])]
/// ```
public struct RetryInterceptor: RiverClientInterceptor {
    /// Delays between attempts: `initial`, then multiplied by `multiplier` up to `maximum`.
    public struct Backoff: Sendable, Hashable {
        /// The delay before the second attempt.
        public var initial: Duration
        /// The factor between consecutive delays.
        public var multiplier: Double
        /// The longest delay.
        public var maximum: Duration
        /// Whether each delay is a random fraction of its value ("full jitter"), so that many
        /// clients do not retry in step.
        public var jitter: Bool

        /// Creates a backoff.
        public init(initial: Duration = .milliseconds(100), multiplier: Double = 2, maximum: Duration = .seconds(2), jitter: Bool = true) {
            self.initial = initial
            self.multiplier = multiplier
            self.maximum = maximum
            self.jitter = jitter
        }

        /// 100 ms, doubling up to 2 s, with jitter.
        public static let defaults = Backoff()

        /// The delay after failed attempt `attempt` (1-based).
        func delay(after attempt: Int) -> Duration {
            var delay = initial
            for _ in 1 ..< max(attempt, 1) {
                delay = min(delay * multiplier, maximum)
            }
            delay = min(delay, maximum)
            return jitter ? delay * Double.random(in: 0 ..< 1) : delay
        }
    }

    /// The procedures retried (rpcs the application knows to be idempotent).
    public var procedures: Set<RiverProcedureDescriptor>
    /// Attempts in all, the first included. Default 3.
    public var maxAttempts: Int
    /// The codes that make a call worth retrying. Default: `UNEXPECTED_DISCONNECT`.
    public var retryableCodes: Set<RiverError.Code>
    /// The delays between attempts.
    public var backoff: Backoff

    /// Creates the interceptor.
    /// - Parameters:
    ///   - procedures: The idempotent rpcs to retry; other procedures pass through untouched.
    ///   - maxAttempts: Attempts in all, the first included.
    ///   - retryableCodes: The codes worth retrying.
    ///   - backoff: The delays between attempts.
    public init(
        retrying procedures: Set<RiverProcedureDescriptor>,
        maxAttempts: Int = 3,
        retryableCodes: Set<RiverError.Code> = [.unexpectedDisconnect],
        backoff: Backoff = .defaults
    ) {
        self.procedures = procedures
        self.maxAttempts = maxAttempts
        self.retryableCodes = retryableCodes
        self.backoff = backoff
    }

    /// Runs the call, and again after a backoff (waited on the context's ``RiverClientContext/clock``)
    /// while it fails with a retryable code and attempts remain.
    /// - Throws: The last attempt's error; `CancellationError` when the task is cancelled
    ///   during a backoff.
    public func intercept<Value: Sendable>(
        request: RiverClientRequest,
        context: RiverClientContext,
        next: (RiverClientRequest, RiverClientContext) async throws -> Value
    ) async throws -> Value {
        guard context.descriptor.kind == .rpc, procedures.contains(context.descriptor) else {
            return try await next(request, context)
        }
        var attempt = 1
        while true {
            do {
                return try await next(request, context)
            } catch let error as RiverError where retryableCodes.contains(error.code) && attempt < maxAttempts {
                try await context.clock.sleep(until: context.clock.now + backoff.delay(after: attempt))
                attempt += 1
            }
        }
    }
}

public import Tracing

/// What an interceptor knows about a call besides its payloads.
public struct RiverClientContext: Sendable {
    /// The procedure called.
    public var descriptor: RiverProcedureDescriptor
    /// The call's options; changes apply to the call (deadline, server, trace override).
    public var options: CallOptions
    /// The caller's service context (the task's current one when the call started); the call's
    /// span is its child.
    public var serviceContext: ServiceContext
    /// The client's clock (``RiverClient/Configuration/clock``): an interceptor that waits
    /// (``RetryInterceptor``'s backoff) waits on it, so a test's manual clock drives it too.
    public var clock: any RiverClock

    /// Creates a context.
    public init(
        descriptor: RiverProcedureDescriptor, options: CallOptions, serviceContext: ServiceContext,
        clock: any RiverClock = ContinuousRiverClock()
    ) {
        self.descriptor = descriptor
        self.options = options
        self.serviceContext = serviceContext
        self.clock = clock
    }
}

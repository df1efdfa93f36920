/// Gives calls that set no deadline a default one.
///
/// A call with ``CallOptions/timeout`` set keeps it. Subscriptions and streams are often meant
/// to stay open, so by default only rpcs and uploads get the default:
///
/// ```swift
/// configuration.interceptors = [DeadlineInterceptor(default: .seconds(10))]
/// ```
public struct DeadlineInterceptor: RiverClientInterceptor {
    /// The deadline of calls that set none.
    public var defaultTimeout: Duration
    /// Deadlines for particular procedures, instead of ``defaultTimeout``.
    public var timeouts: [RiverProcedureDescriptor: Duration]
    /// The kinds of procedure that get a default deadline. Default: rpc and upload.
    public var kinds: Set<ProcedureKind>

    /// Creates the interceptor.
    /// - Parameters:
    ///   - defaultTimeout: The deadline of calls that set none.
    ///   - timeouts: Deadlines for particular procedures.
    ///   - kinds: The kinds of procedure it applies to (a procedure in `timeouts` always gets its own).
    public init(
        default defaultTimeout: Duration,
        timeouts: [RiverProcedureDescriptor: Duration] = [:],
        kinds: Set<ProcedureKind> = [.rpc, .upload]
    ) {
        self.defaultTimeout = defaultTimeout
        self.timeouts = timeouts
        self.kinds = kinds
    }

    /// Sets the call's deadline when it has none, then runs the call.
    public func intercept<Value: Sendable>(
        request: RiverClientRequest,
        context: RiverClientContext,
        next: (RiverClientRequest, RiverClientContext) async throws -> Value
    ) async throws -> Value {
        guard context.options.timeout == nil else { return try await next(request, context) }
        var context = context
        if let timeout = timeouts[context.descriptor] {
            context.options.timeout = timeout
        } else if kinds.contains(context.descriptor.kind) {
            context.options.timeout = defaultTimeout
        }
        return try await next(request, context)
    }
}

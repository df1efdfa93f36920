/// Runs a call through interceptors, outermost first.
enum InterceptorChain {
    /// Runs `interceptors` in order around `call`.
    static func run<Value: Sendable>(
        _ interceptors: ArraySlice<any RiverClientInterceptor>,
        request: RiverClientRequest,
        context: RiverClientContext,
        call: (RiverClientRequest, RiverClientContext) async throws -> Value
    ) async throws -> Value {
        guard let first = interceptors.first else { return try await call(request, context) }
        return try await first.intercept(request: request, context: context) { request, context in
            try await run(interceptors.dropFirst(), request: request, context: context, call: call)
        }
    }
}

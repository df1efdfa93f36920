import Tracing

/// The call layer every call goes through (typed procedures, generated clients, ``RawCall``):
/// the interceptors, then ``Call/run(transport:request:context:ending:_:)`` on the server the
/// (possibly intercepted) options name.
extension RiverClient {
    /// Runs one call through the client's interceptors, then the call's own
    /// (``CallOptions/interceptors``), then on the wire.
    /// - Parameters:
    ///   - descriptor: The procedure.
    ///   - encodedInit: The init payload, encoded.
    ///   - options: The caller's options.
    ///   - ending: How a value `body` returned ended the call (for metrics and logs).
    ///   - body: Writes and reads the call; it runs again when an interceptor retries.
    /// - Returns: What `body` returned (or what an interceptor returned instead).
    /// - Throws: What the call, `body` or an interceptor threw.
    func runCall<Value: Sendable>(
        _ descriptor: RiverProcedureDescriptor, encodedInit: RiverValue, options: CallOptions,
        ending: (Value) -> CallEnding, _ body: (Call) async throws -> Value
    ) async throws -> Value {
        let request = RiverClientRequest(initPayload: encodedInit)
        let context = RiverClientContext(descriptor: descriptor, options: options, serviceContext: .current ?? .topLevel, clock: configuration.clock)
        if configuration.interceptors.isEmpty && options.interceptors.isEmpty {
            return try await Call.run(
                transport: try transport(for: options), request: request, context: context, ending: ending, body)
        }
        let interceptors = configuration.interceptors + options.interceptors
        return try await InterceptorChain.run(interceptors[...], request: request, context: context) { request, context in
            try await Call.run(
                transport: try transport(for: context.options), request: request, context: context, ending: ending, body)
        }
    }
}

import Tracing

/// The call layer every call goes through (typed procedures, generated clients, ``RawCall``,
/// ``SubscriptionGroup`` members): the interceptors, then ``Call/start(transport:request:context:)``
/// on the server the (possibly intercepted) options name.
extension RiverClient {
    /// Runs one call through the client's interceptors, then the call's own
    /// (``CallOptions/interceptors``), then on the wire (``Call/run(_:ending:_:)``).
    /// - Parameters:
    ///   - descriptor: The procedure.
    ///   - encodedInit: The init payload, encoded.
    ///   - options: The caller's options.
    ///   - ending: How a value `body` returned ended the call (for metrics and logs).
    ///   - body: Writes and reads the call; it runs again when an interceptor retries.
    /// - Returns: What `body` returned (or what an interceptor returned instead).
    /// - Throws: What the call, `body` or an interceptor threw.
    func runCall<Value: Sendable>(
        _ descriptor: RiverProcedureDescriptor, encodedInit: consuming RiverValue, options: CallOptions,
        ending: (Value) -> CallEnding, _ body: (Call) async throws -> Value
    ) async throws -> Value {
        guard configuration.interceptors.isEmpty && options.interceptors.isEmpty else {
            return try await runIntercepted(descriptor, encodedInit: encodedInit, options: options) { call, opening in
                try await call.run(opening, ending: ending, body)
            }
        }
        // Consumed: the payload is encoded now, and a large one is not kept for the call's life.
        let (call, opening) = try startCall(descriptor, encodedInit: consume encodedInit, options: options)
        return try await call.run(opening, ending: ending, body)
    }

    /// Starts one call through the interceptors, as ``runCall(_:encodedInit:options:ending:_:)``
    /// does, and runs `open` on it: for calls that outlive the chain (a ``SubscriptionGroup``'s
    /// members), whose interceptors' `next` returns once `open` has.
    /// - Throws: What starting the call, `open` or an interceptor threw.
    func runOpening(
        _ descriptor: RiverProcedureDescriptor, encodedInit: RiverValue, options: CallOptions,
        _ open: (Call, Call.Opening) async throws -> Void
    ) async throws {
        guard configuration.interceptors.isEmpty && options.interceptors.isEmpty else {
            return try await runIntercepted(descriptor, encodedInit: encodedInit, options: options, open)
        }
        let (call, opening) = try startCall(descriptor, encodedInit: encodedInit, options: options)
        try await open(call, opening)
    }

    /// Starts a call no interceptor sees (see ``Call/start(transport:request:context:)``).
    /// Synchronous and not inlined: the request and context it builds stay out of the async
    /// frames a waiting call keeps for its whole life.
    @inline(never)
    private func startCall(
        _ descriptor: RiverProcedureDescriptor, encodedInit: consuming RiverValue, options: CallOptions
    ) throws(RiverError) -> (Call, Call.Opening) {
        try Call.start(
            transport: try transport(for: options), request: RiverClientRequest(initPayload: encodedInit),
            context: RiverClientContext(
                descriptor: descriptor, options: options, serviceContext: .current ?? .topLevel, clock: configuration.clock))
    }

    /// Runs the client's and the call's interceptors; at the end of the chain starts the call
    /// with what they made of its request and options, and runs `onWire` on it.
    @inline(never)
    private func runIntercepted<Value: Sendable>(
        _ descriptor: RiverProcedureDescriptor, encodedInit: RiverValue, options: CallOptions,
        _ onWire: (Call, Call.Opening) async throws -> Value
    ) async throws -> Value {
        let request = RiverClientRequest(initPayload: encodedInit)
        let context = RiverClientContext(
            descriptor: descriptor, options: options, serviceContext: .current ?? .topLevel, clock: configuration.clock)
        let interceptors = configuration.interceptors + options.interceptors
        return try await InterceptorChain.run(interceptors[...], request: request, context: context) { request, context in
            let (call, opening) = try Call.start(
                transport: try transport(for: context.options), request: request, context: context)
            return try await onWire(call, opening)
        }
    }
}

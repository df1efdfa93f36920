/// A handle on one call: its stream id and inbox. The call's state (which sides closed, why
/// it ended, unacknowledged requests) lives in its ``ClientTransport``, which a call asks and
/// never second-guesses.
///
/// This is the one place a call is opened, written, read (``CallReader``) and ended.
final class Call: Sendable {
    let transport: ClientTransport
    let streamID: String
    let kind: ProcedureKind
    /// Where the transport delivers the call's messages.
    let inbox: CallInbox
    /// The interceptors' transforms and what the call's span and metrics learn from its
    /// results; `nil` (nothing to do) without transforms, a tracer or a metrics backend.
    let hooks: CallHooks?

    /// Not inlined: it runs in the async `run`, whose frame a call keeps for its whole life.
    @inline(never)
    private init(transport: ClientTransport, streamID: String, kind: ProcedureKind, hooks: CallHooks?) {
        self.transport = transport
        self.streamID = streamID
        self.kind = kind
        self.inbox = CallInbox()
        self.hooks = hooks
    }

    /// Runs one call: registers its stream, then, within the call's lifetime (the deadline
    /// and task cancellation cover opening it too), sends its open message (the init payload
    /// of `request`, with the call's trace context) and runs `body`. When `body` ends, a call
    /// that is still open is closed (CLOSE) or cancelled, and the transport forgets it.
    ///
    /// The call is observed here, the one place every call passes: its span (a child of
    /// `context`'s service context), its metrics and its debug log lines.
    /// - Parameters:
    ///   - ending: How a value `body` returned ended the call (for metrics and logs).
    static func run<Value>(
        transport: ClientTransport, request: RiverClientRequest, context: RiverClientContext,
        ending: (Value) -> CallEnding, _ body: (Call) async throws -> Value
    ) async throws -> Value {
        let descriptor = context.descriptor
        let observation = CallObservation(
            descriptor: descriptor, streamID: RiverID.generate(), context: context.serviceContext,
            instruments: transport.instruments)
        let call = Call(
            transport: transport, streamID: observation.streamID, kind: descriptor.kind,
            hooks: CallHooks.make(request: request, observation: observation))
        do {
            let value = try await call.run(request: request, context: context, observation: observation, body)
            observation.finish(ending(value), sessionID: transport.sessionID)
            return value
        } catch {
            observation.finish(.threw(error, afterServiceError: call.hooks?.sawServiceError ?? false), sessionID: transport.sessionID)
            throw error
        }
    }

    /// The call on the wire: registration, the open message, `body`, and the release.
    private func run<Value>(
        request: RiverClientRequest, context: RiverClientContext, observation: CallObservation,
        _ body: (Call) async throws -> Value
    ) async throws -> Value {
        try transport.register(streamID: streamID, inbox: inbox)
        defer { transport.release(streamID: streamID) }
        var openFlags: ControlFlags = .streamOpen
        if kind == .rpc || kind == .subscription { openFlags.insert(.streamClosed) }
        let open = SessionStateMachine.Outbound(
            streamId: streamID, controlFlags: openFlags, payload: request.initPayload,
            serviceName: context.descriptor.serviceName, procedureName: context.descriptor.procedureName,
            tracing: observation.tracing(override: context.options.tracing))
        return try await withLifetime(options: context.options) {
            try await transport.open(open)
            if observation.span != nil { observation.link(toSession: transport.observation.sessionSpanContext) }
            return try await body(self)
        }
    }

    /// Why the call ended other than by both sides closing (lost session, a cancel by either
    /// side, the deadline), if it did.
    var endedError: RiverError? { transport.endedError(of: streamID) }

    /// Runs `body` as the call's lifetime: task cancellation and the deadline cancel the call.
    ///
    /// Not inlined, and the deadline's task group is in a function of its own: the frames of
    /// the functions a call is waiting in stay allocated for its whole life (an idle
    /// subscription is mostly such frames), and a call without a deadline needs none of it.
    @inline(never)
    private func withLifetime<Value>(options: CallOptions, _ body: () async throws -> Value) async throws -> Value {
        try await withTaskCancellationHandler {
            guard let timeout = options.timeout else { return try await body() }
            return try await withDeadline(after: timeout, body)
        } onCancel: {
            self.cancel(RiverError(code: .cancel, message: "cancelled by client"))
        }
    }

    /// Runs `body`, cancelling the call when `timeout` passes first.
    @inline(never)
    private func withDeadline<Value>(after timeout: Duration, _ body: () async throws -> Value) async throws -> Value {
        try await withThrowingTaskGroup(of: Void.self, returning: Value.self) { group in
            let clock = transport.clock
            let deadline = clock.now + timeout
            group.addTask {
                try await clock.sleep(until: deadline)
                self.cancel(RiverError(code: .deadlineExceeded, message: "the call did not complete within \(timeout)"))
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// Sends one request (waits for buffer room).
    func write(_ payload: RiverValue) async throws(RiverError) {
        try await transport.write(payload, on: streamID)
    }

    /// Closes the request side: sends CLOSE once. A no-op when already closed or ended.
    func finish() throws(RiverError) {
        try transport.closeRequests(of: streamID)
    }

    /// Cancels the call: sends CANCEL once (unless it is over) and ends it locally with
    /// `error`. Later calls are no-ops.
    func cancel(_ error: RiverError) {
        transport.cancel(streamID: streamID, with: error)
    }

    /// Requests sent, and how many of them the server has acknowledged.
    var progress: (sent: Int, acknowledged: Int) { transport.progress(of: streamID) }

    static func encodePayload<T: Encodable>(_ value: T, what: String) throws(RiverError) -> RiverValue {
        do {
            return try RiverValueEncoder().encode(value)
        } catch {
            throw RiverError(code: .encodingFailure, message: "could not encode the \(what) payload: \(error)", underlying: error)
        }
    }
}

/// Reads one call's messages in order and turns them into results (one consumer).
struct CallReader {
    let call: Call
    /// Whether a cancelled reading task stops waiting by itself (readers the user owns); the
    /// library's own readers run inside the call's lifetime, which ends the call instead.
    private let interruptible: Bool
    private var done = false

    init(call: Call, interruptible: Bool) {
        self.call = call
        self.interruptible = interruptible
    }

    /// The next result, `nil` once the server closed its side.
    ///
    /// Only the wait is in this async function; taking the event and working out what it
    /// means is the synchronous ``takeResult(_:_:)`` (not inlined), so its locals live on the
    /// thread's stack and not in the async frame a waiting reader keeps: that frame is most of
    /// what an idle subscription costs.
    /// - Throws: ``RiverError``, or what an interceptor's result transform threw.
    mutating func next<Output: Decodable, Failure: Error & Decodable>(
        _: Output.Type, _: Failure.Type
    ) async throws -> Result<Output, Failure>? {
        guard !done else { return nil }
        await call.inbox.waitForEvent(interruptible: interruptible)
        return try takeResult(Output.self, Failure.self)
    }

    /// The result of the event the inbox holds after a wait.
    @inline(never)
    private mutating func takeResult<Output: Decodable, Failure: Error & Decodable>(
        _: Output.Type, _: Failure.Type
    ) throws -> Result<Output, Failure>? {
        // The inbox ends early only when the call ended (its `.failed` event comes first) or
        // when this reader's task is cancelled.
        guard let event = call.inbox.take() else {
            done = true
            throw call.endedError ?? RiverError(code: .cancel, message: "cancelled by client")
        }
        return try result(of: event, Output.self, Failure.self)
    }

    /// The result one inbox event stands for (`nil`: the server closed its side).
    @inline(never)
    private mutating func result<Output: Decodable, Failure: Error & Decodable>(
        of event: ClientTransport.StreamEvent, _: Output.Type, _: Failure.Type
    ) throws -> Result<Output, Failure>? {
        switch event {
        case .failed(let error):
            done = true
            throw error
        case .message(let message):
            if message.controlFlags.contains(.streamCancel) {
                done = true
                throw Self.cancelError(message.payload)
            }
            let closes = message.controlFlags.contains(.streamClosed)
            if closes { done = true }
            if closes, case .close? = try? ControlPayload.parse(message.payload) { return nil }
            let envelope = try Self.parseResult(message.payload)
            if let hooks = call.hooks { return try Self.decodeResult(hooks.result(envelope), Output.self, Failure.self) }
            return try Self.decodeResult(envelope, Output.self, Failure.self)
        }
    }

    static func cancelError(_ payload: RiverValue) -> RiverError {
        guard case .error(let error)? = try? ResultEnvelope(parsing: payload) else {
            return RiverError(code: .cancel, message: "the server cancelled the call")
        }
        return RiverError(code: RiverError.Code(rawValue: error.code), message: error.message, extras: error.extras)
    }

    /// A result message's payload as a result envelope.
    static func parseResult(_ payload: RiverValue) throws(RiverError) -> ResultEnvelope {
        do {
            return try ResultEnvelope(parsing: payload)
        } catch {
            throw RiverError(code: .protocolViolation, message: "malformed result: \(error)")
        }
    }

    /// A result envelope as the call's output or declared service error.
    static func decodeResult<Output: Decodable, Failure: Error & Decodable>(
        _ envelope: ResultEnvelope, _: Output.Type, _: Failure.Type
    ) throws(RiverError) -> Result<Output, Failure> {
        switch envelope {
        case .ok(let value):
            do {
                return .success(try RiverValueDecoder().decode(Output.self, from: value))
            } catch {
                throw RiverError(code: .decodingFailure, message: "the response does not match \(Output.self): \(error)", underlying: error)
            }
        case .error(let payload):
            do {
                return .failure(try RiverValueDecoder().decode(Failure.self, from: payload.value))
            } catch {
                // An error the procedure does not declare (or a protocol code sent as a plain
                // result): thrown, keeping its code.
                throw RiverError(code: RiverError.Code(rawValue: payload.code), message: payload.message, extras: payload.extras)
            }
        }
    }
}

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

    /// Not inlined: it runs before the async ``run(_:ending:_:)``, whose frame a call keeps for
    /// its whole life.
    @inline(never)
    private init(transport: ClientTransport, streamID: String, kind: ProcedureKind, hooks: CallHooks?) {
        self.transport = transport
        self.streamID = streamID
        self.kind = kind
        self.inbox = CallInbox()
        self.hooks = hooks
    }

    /// What ``run(_:ending:_:)`` needs to open a registered call: its open message, encoded.
    struct Opening {
        fileprivate let message: SessionStateMachine.PreparedMessage
        fileprivate let closesRequests: Bool
        fileprivate let timeout: Duration?
    }

    /// Starts one call: starts observing it (its span is a child of `context`'s service
    /// context; metrics and debug log lines), registers its stream and encodes its open
    /// message (the init payload of `request`, with the call's trace context). Run it with
    /// ``run(_:ending:_:)``.
    ///
    /// Synchronous and not inlined, so that none of `request` and `context` is kept in an
    /// async frame a waiting call holds for its whole life: what the call needs later is in the
    /// returned ``Call`` (its hooks, only when observed) and ``Opening``.
    /// - Throws: ``RiverError`` when the transport refuses the stream (closed, shutting down)
    ///   or the open message cannot be encoded; the call's observation records it.
    @inline(never)
    static func start(
        transport: ClientTransport, request: RiverClientRequest, context: RiverClientContext
    ) throws(RiverError) -> (Call, Opening) {
        let descriptor = context.descriptor
        let observation = CallObservation(
            descriptor: descriptor, streamID: RiverID.generate(), context: context.serviceContext,
            instruments: transport.instruments)
        let call = Call(
            transport: transport, streamID: observation.streamID, kind: descriptor.kind,
            hooks: CallHooks.make(request: request, observation: observation))
        do {
            try transport.register(streamID: call.streamID, inbox: call.inbox)
        } catch {
            observation.finish(.threw(error), sessionID: transport.sessionID)
            throw error
        }
        let closesRequests = call.kind == .rpc || call.kind == .subscription
        var flags: ControlFlags = .streamOpen
        if closesRequests { flags.insert(.streamClosed) }
        let open = SessionStateMachine.Outbound(
            streamId: call.streamID, controlFlags: flags, payload: request.initPayload,
            serviceName: descriptor.serviceName, procedureName: descriptor.procedureName,
            tracing: call.hooks?.tracing(override: context.options.tracing) ?? context.options.tracing ?? .empty)
        do {
            let message = try transport.prepare(open)
            return (call, Opening(message: message, closesRequests: closesRequests, timeout: context.options.timeout))
        } catch {
            transport.release(streamID: call.streamID)
            observation.finish(.threw(error), sessionID: transport.sessionID)
            throw error
        }
    }

    /// Runs a started call (``start(transport:request:context:)``): within the call's
    /// lifetime (the deadline and task cancellation cover opening it too), sends its open
    /// message and runs `body`. When `body` ends, a call that is still open is closed (CLOSE)
    /// or cancelled, the transport forgets it, and its observation records how it ended.
    /// - Parameters:
    ///   - ending: How a value `body` returned ended the call (for metrics and logs).
    func run<Value>(
        _ opening: Opening, ending: (Value) -> CallEnding, _ body: (Call) async throws -> Value
    ) async throws -> Value {
        do {
            let value = try await onWire(opening, body)
            hooks?.finish(ending(value), on: transport)
            return value
        } catch {
            hooks?.finish(threw: error, on: transport)
            throw error
        }
    }

    /// The call on the wire: the open message, `body`, and the release.
    private func onWire<Value>(_ opening: Opening, _ body: (Call) async throws -> Value) async throws -> Value {
        defer { transport.release(streamID: streamID) }
        return try await withLifetime(timeout: opening.timeout) {
            try await open(opening)
            return try await body(self)
        }
    }

    /// Opens a started call whose life no task spans (a ``SubscriptionGroup``'s member): task
    /// cancellation and the deadline cover the opening only. The caller releases the stream
    /// when the call ends, and records its ending on its hooks.
    /// - Throws: ``RiverError``: why the call ended while it waited to be sent (cancelled,
    ///   deadline, closed transport).
    func openUnscoped(_ opening: Opening) async throws {
        try await withLifetime(timeout: opening.timeout) {
            try await open(opening)
        }
    }

    /// Sends the open message (waiting for send-buffer room).
    private func open(_ opening: Opening) async throws(RiverError) {
        try await transport.open(opening.message, streamID: streamID, closingRequests: opening.closesRequests)
        hooks?.opened(on: transport)
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
    private func withLifetime<Value>(timeout: Duration?, _ body: () async throws -> Value) async throws -> Value {
        try await withTaskCancellationHandler {
            guard let timeout else { return try await body() }
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
        if Self.ends(event) { done = true }
        return try Self.result(of: event, hooks: call.hooks, Output.self, Failure.self)
    }

    /// Whether `event` is the last of its stream: a failure, a cancel, or a message that
    /// closes the server's side.
    static func ends(_ event: ClientTransport.StreamEvent) -> Bool {
        switch event {
        case .failed: true
        case .message(let message): message.controlFlags.contains(.streamCancel) || message.controlFlags.contains(.streamClosed)
        }
    }

    /// The result one event of a call with `hooks` stands for; `nil`: the server closed its side.
    /// - Throws: The call's failure or the server's cancel (``RiverError``), a malformed or
    ///   undecodable result, or what an interceptor's result transform threw.
    static func result<Output: Decodable, Failure: Error & Decodable>(
        of event: ClientTransport.StreamEvent, hooks: CallHooks?, _: Output.Type, _: Failure.Type
    ) throws -> Result<Output, Failure>? {
        switch event {
        case .failed(let error):
            throw error
        case .message(let message):
            if message.controlFlags.contains(.streamCancel) { throw cancelError(message.payload) }
            if message.controlFlags.contains(.streamClosed), case .close? = try? ControlPayload.parse(message.payload) {
                return nil
            }
            let envelope = try parseResult(message.payload)
            if let hooks { return try decodeResult(hooks.result(envelope), Output.self, Failure.self) }
            return try decodeResult(envelope, Output.self, Failure.self)
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

/// A call whose payloads its caller encodes and interprets itself, for payload conventions
/// other than River's `{ok, payload}` results: protobuf services (the `RiverProtobuf` module)
/// send bare message bytes as successful results.
///
/// It has the lifecycle of every River call: the same stream registration, back-pressure,
/// replay across transparent reconnects, cancellation and deadlines.
package struct RawCall: Sendable {
    let call: Call

    /// What the server sent on the call, in order.
    package enum Event: Sendable {
        /// A payload that is not a CLOSE control message (data, or an `{ok: false}` result).
        case payload(RiverValue)
        /// The server cancelled the stream; the payload is its (usually `{ok: false}`) body.
        case cancelled(RiverValue)
    }

    /// Runs one call: registers the stream and, within the call's lifetime (task cancellation
    /// and the deadline cancel the call, and cover opening it too), sends its open message and
    /// runs `body`. When `body` ends, a call still open is closed or cancelled.
    /// - Parameters:
    ///   - client: The client whose session carries the call.
    ///   - service: The service name on the wire.
    ///   - procedure: The procedure name on the wire.
    ///   - kind: Which River procedure kind the call is (decides the open message's flags).
    ///   - initPayload: The open message's payload, as it goes on the wire.
    ///   - options: Deadline, server, trace context and interceptors.
    ///   - body: Writes and reads the call; it runs again when an interceptor retries.
    /// - Returns: What `body` returns.
    /// - Throws: ``RiverError`` when the transport refuses the call (closed, too large) or the
    ///   call ends early, or what `body` or an interceptor throws.
    package static func run<Value: Sendable>(
        on client: RiverClient, service: String, procedure: String, kind: ProcedureKind, initPayload: RiverValue,
        options: CallOptions, _ body: (RawCall) async throws -> Value
    ) async throws -> Value {
        try await client.runCall(
            RiverProcedureDescriptor(service: service, procedure: procedure, kind: kind), encodedInit: initPayload,
            options: options, ending: { _ in .ok }
        ) { call in
            try await body(RawCall(call: call))
        }
    }

    /// Sends one request payload (after the interceptors' input transforms), waiting for room
    /// in the send buffer.
    /// - Throws: ``RiverError``, or what an interceptor's input transform threw.
    package func write(_ payload: RiverValue) async throws {
        guard let hooks = call.hooks else { return try await call.write(payload) }
        try await call.write(try hooks.input(payload))
    }

    /// Closes the request side (CLOSE). Idempotent.
    package func finish() throws(RiverError) {
        try call.finish()
    }

    /// Cancels the call: sends CANCEL once and ends it locally with `error`.
    package func cancel(_ error: RiverError = RiverError(code: .cancel, message: "cancelled by client")) {
        call.cancel(error)
    }

    /// Whether the call has ended (lost session, a cancel by either side, the deadline).
    package var hasEnded: Bool { call.endedError != nil }

    /// Requests sent and how many the server acknowledged.
    package var progress: (sent: Int, acknowledged: Int) { call.progress }

    /// A reader of the call's events (one per call).
    /// - Parameter interruptible: Whether a cancelled reading task stops waiting by itself
    ///   (readers the user iterates) instead of relying on the call's lifetime to end the call.
    package func makeReader(interruptible: Bool) -> Reader {
        Reader(call: call, interruptible: interruptible)
    }

    /// Reads one call's events in order (one consumer).
    package struct Reader: Sendable {
        let call: Call
        let interruptible: Bool
        private var done = false

        init(call: Call, interruptible: Bool) {
            self.call = call
            self.interruptible = interruptible
        }

        /// The next event; `nil` once the server closed its side (or after a cancel event).
        /// - Throws: ``RiverError`` when the call ended locally (lost session, client cancel,
        ///   deadline), or what an interceptor's result transform threw.
        package mutating func next() async throws -> Event? {
            guard !done else { return nil }
            await call.inbox.waitForEvent(interruptible: interruptible)
            return try takeEvent()
        }

        /// The event the inbox holds after a wait (synchronous and not inlined, so the event
        /// stays out of the waiting reader's async frame; see ``CallInbox/waitForEvent(interruptible:)``).
        @inline(never)
        private mutating func takeEvent() throws -> Event? {
            // The inbox ends early only when the call ended (its `.failed` event comes first)
            // or when this reader's task is cancelled.
            guard let event = call.inbox.take() else {
                done = true
                throw call.endedError ?? RiverError(code: .cancel, message: "cancelled by client")
            }
            switch event {
            case .failed(let error):
                done = true
                throw error
            case .message(let message):
                if message.controlFlags.contains(.streamCancel) {
                    done = true
                    return .cancelled(message.payload)
                }
                guard message.controlFlags.contains(.streamClosed) else { return try payload(message.payload) }
                done = true
                if case .close? = try? ControlPayload.parse(message.payload) { return nil }
                return try payload(message.payload)
            }
        }

        /// A payload event, after the interceptors' result transforms.
        private func payload(_ value: RiverValue) throws -> Event {
            guard let hooks = call.hooks else { return .payload(value) }
            return .payload(try hooks.rawResult(value))
        }
    }
}

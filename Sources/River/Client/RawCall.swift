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

    /// Opens a call: registers the stream and sends its open message.
    /// - Parameters:
    ///   - client: The client whose session carries the call.
    ///   - service: The service name on the wire.
    ///   - procedure: The procedure name on the wire.
    ///   - kind: Which River procedure kind the call is (decides the open message's flags).
    ///   - initPayload: The open message's payload, as it goes on the wire.
    ///   - options: Deadline, server and trace context.
    /// - Throws: ``RiverError`` when the transport refuses the call (closed, too large).
    package static func open(
        on client: RiverClient, service: String, procedure: String, kind: ProcedureKind, initPayload: RiverValue,
        options: CallOptions
    ) async throws(RiverError) -> RawCall {
        let call = try await Call.open(
            transport: try client.transport(for: options), service: service, procedure: procedure,
            encodedInit: initPayload, kind: kind, tracing: options.tracing)
        return RawCall(call: call)
    }

    /// Runs `body` as the call's lifetime (task cancellation and the deadline cancel the call;
    /// when `body` ends, a call still open is closed or cancelled).
    package func withLifetime<Value>(options: CallOptions, _ body: () async throws -> Value) async throws -> Value {
        try await call.withLifetime(options: options, body)
    }

    /// Sends one request payload, waiting for room in the send buffer.
    package func write(_ payload: RiverValue) async throws(RiverError) {
        try await call.write(payload)
    }

    /// Closes the request side (CLOSE). Idempotent.
    package func finish() throws(RiverError) {
        try call.finish()
    }

    /// Cancels the call: sends CANCEL once and ends it locally with `error`.
    package func cancel(_ error: RiverError = RiverError(code: .cancel, message: "cancelled by client")) {
        call.cancel(error)
    }

    /// Whether the call can no longer send.
    package var isFinished: Bool { call.isFinished }

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
        ///   deadline).
        package mutating func next() async throws(RiverError) -> Event? {
            guard !done else { return nil }
            guard let event = await call.inbox.next(interruptible: interruptible) else {
                done = true
                if call.isFinished || Task.isCancelled {
                    throw RiverError(code: .cancel, message: "cancelled by client")
                }
                return nil
            }
            switch event {
            case .failed(let error):
                done = true
                call.markFinished()
                throw error
            case .message(let message):
                if message.controlFlags.contains(.streamCancel) {
                    done = true
                    call.markFinished()
                    return .cancelled(message.payload)
                }
                guard message.controlFlags.contains(.streamClosed) else { return .payload(message.payload) }
                done = true
                call.markRemoteClosed()
                if case .close? = try? ControlPayload.parse(message.payload) { return nil }
                return .payload(message.payload)
            }
        }
    }
}

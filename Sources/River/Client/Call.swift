import DequeModule
import Synchronization

/// The shared, thread-safe half of one call: its stream id, what each side has closed, and
/// the sends a writer or a cancellation makes.
final class Call: Sendable {
    private struct Flags {
        var localClosed = false
        var remoteClosed = false
        var finished = false
        /// The transport no longer routes messages to this call.
        var unregistered = false
        /// Seqs of written requests the server has not acknowledged yet (bounded by the send buffer).
        var unackedSeqs: Deque<Int> = []
        var sent = 0
        var acknowledged = 0
        /// The session the call was opened on; its messages never move to another.
        var sessionID: String?
        /// Why the call ended locally (lost session, cancel, deadline), if it did.
        var terminalError: RiverError?
    }

    let transport: ClientTransport
    let streamID: String
    let kind: ProcedureKind
    /// Where the transport delivers the call's messages, and records why it ended the call
    /// (a lost session, a server cancel): the transport's table holds the inbox, never the call.
    let inbox: CallInbox
    /// The interceptors' transforms and the call's span; `nil` (nothing to do) without
    /// interceptor transforms or a tracer.
    let hooks: CallHooks?
    private let flags = Mutex(Flags())

    private init(transport: ClientTransport, streamID: String, kind: ProcedureKind, hooks: CallHooks?) {
        self.transport = transport
        self.streamID = streamID
        self.kind = kind
        self.inbox = CallInbox()
        self.hooks = hooks
    }

    /// Which sides are closed and whether (and why) the call ended, with the transport's
    /// reason for ending it folded in: it counts as finished, and as the terminal error unless
    /// the call ended itself first. Scalars only: copying the flags would share (and then
    /// copy on the next append) the unacknowledged-seq queue.
    private struct Status {
        var localClosed: Bool
        var remoteClosed: Bool
        var finished: Bool
        var terminalError: RiverError?
    }

    private func status() -> Status {
        var status = flags.withLock {
            Status(localClosed: $0.localClosed, remoteClosed: $0.remoteClosed, finished: $0.finished, terminalError: $0.terminalError)
        }
        if let failure = inbox.failure {
            status.finished = true
            if status.terminalError == nil { status.terminalError = failure }
        }
        return status
    }

    /// Registers a new stream and sends its open message (the init payload of `request`,
    /// with `tracing`).
    static func open(
        transport: ClientTransport, request: RiverClientRequest, observation: CallObservation, tracing: TracingContext
    ) async throws(RiverError) -> Call {
        let descriptor = observation.descriptor
        let kind = descriptor.kind
        let call = Call(
            transport: transport, streamID: observation.streamID, kind: kind,
            hooks: CallHooks.make(request: request, observation: observation))
        var openFlags: ControlFlags = .streamOpen
        if kind == .rpc || kind == .subscription {
            openFlags.insert(.streamClosed)
            call.flags.withLock { $0.localClosed = true }
        }
        let outbound = SessionStateMachine.Outbound(
            streamId: call.streamID, controlFlags: openFlags, payload: request.initPayload,
            serviceName: descriptor.serviceName, procedureName: descriptor.procedureName, tracing: tracing)
        do {
            let sessionID = try await transport.open(outbound, inbox: call.inbox)
            call.flags.withLock { $0.sessionID = sessionID }
        } catch {
            // Refused (closed or shutting-down transport, too large): never registered.
            call.flags.withLock {
                $0.finished = true
                $0.unregistered = true
            }
            throw error
        }
        return call
    }

    /// Whether the call can no longer send (cancelled, failed, or ended by the server).
    var isFinished: Bool { status().finished }

    /// The id of the session the call was opened in.
    var sessionID: String? { flags.withLock { $0.sessionID } }

    /// Runs `body` as the call's lifetime: task cancellation and the deadline cancel the call;
    /// when `body` ends, a call that is still open is closed (CLOSE) or cancelled.
    func withLifetime<Value>(options: CallOptions, _ body: () async throws -> Value) async throws -> Value {
        defer { endOfScope() }
        return try await withTaskCancellationHandler {
            guard let timeout = options.timeout else { return try await body() }
            return try await withThrowingTaskGroup(of: Void.self, returning: Value.self) { group in
                group.addTask {
                    try await Task.sleep(for: timeout)
                    self.cancel(RiverError(code: .deadlineExceeded, message: "the call did not complete within \(timeout)"))
                }
                defer { group.cancelAll() }
                return try await body()
            }
        } onCancel: {
            self.cancel(RiverError(code: .cancel, message: "cancelled by client"))
        }
    }

    /// Sends one request (waits for buffer room).
    func write(_ payload: RiverValue) async throws(RiverError) {
        let current = status()
        guard !current.localClosed, !current.finished else {
            throw current.terminalError ?? RiverError(code: .cancel, message: "the request side of this call is closed")
        }
        let seq = try await transport.send(
            SessionStateMachine.Outbound(streamId: streamID, controlFlags: [], payload: payload), waitForRoom: true)
        flags.withLock {
            $0.unackedSeqs.append(seq)
            $0.sent += 1
        }
    }

    /// Closes the request side: sends CLOSE once. A no-op when already closed or finished.
    func finish() throws(RiverError) {
        let failed = inbox.failure != nil
        let (send, remoteClosed) = flags.withLock { flags -> (Bool, Bool) in
            guard !flags.localClosed, !flags.finished, !failed else { return (false, flags.remoteClosed) }
            flags.localClosed = true
            return (true, flags.remoteClosed)
        }
        guard send else { return }
        try transport.sendNow(
            SessionStateMachine.Outbound(streamId: streamID, controlFlags: .streamClosed, payload: ControlPayload.close.value))
        // With both sides closed, the transport has unregistered the stream.
        if remoteClosed { flags.withLock { $0.unregistered = true } }
    }

    /// Cancels the call: sends CANCEL once (unless both sides already closed) and ends the
    /// stream locally with `error`. Later calls are no-ops.
    func cancel(_ error: RiverError) {
        let failed = inbox.failure != nil
        let send = flags.withLock { flags -> Bool in
            guard !flags.finished, !failed, !(flags.localClosed && flags.remoteClosed) else { return false }
            flags.finished = true
            flags.unregistered = true  // `transport.cancel` removes the registration
            return true
        }
        guard send else { return }
        let cancel = ResultEnvelope.error(ErrorPayload(code: ReservedErrorCode.cancel, message: "cancelled by client"))
        transport.cancel(
            streamID: streamID,
            sending: SessionStateMachine.Outbound(streamId: streamID, controlFlags: .streamCancel, payload: cancel.value),
            with: error)
    }

    /// The server closed its side. (Once this side has closed too, the transport has already
    /// unregistered the stream when it delivered the close.)
    func markRemoteClosed() {
        flags.withLock { flags in
            flags.remoteClosed = true
            if flags.localClosed { flags.unregistered = true }
        }
    }

    /// The call ended without a clean close (server cancel, lost session): send nothing more.
    func markFinished() {
        flags.withLock { $0.finished = true }
        unregister()
    }

    /// Stops the transport routing messages to this call (once).
    private func unregister() {
        let first = flags.withLock { flags -> Bool in
            defer { flags.unregistered = true }
            return !flags.unregistered
        }
        if first { transport.unregister(streamID: streamID) }
    }

    /// Requests sent, and how many of them the server has acknowledged.
    var progress: (sent: Int, acknowledged: Int) {
        let ack = transport.acknowledgement
        return flags.withLock { flags in
            if let first = ack.firstUnacked, ack.sessionID == flags.sessionID {
                while let oldest = flags.unackedSeqs.first, oldest < first {
                    flags.unackedSeqs.removeFirst()
                    flags.acknowledged += 1
                }
            }
            return (flags.sent, flags.acknowledged)
        }
    }

    private func endOfScope() {
        let current = status()
        let (localClosed, remoteClosed, finished) = (current.localClosed, current.remoteClosed, current.finished)
        if finished || (localClosed && remoteClosed) {
            unregister()
        } else if remoteClosed {
            try? finish()
        } else {
            cancel(RiverError(code: .cancel, message: "cancelled by client"))
        }
    }

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
    mutating func next<Output: Decodable, Failure: Error & Decodable>(
        _: Output.Type, _: Failure.Type
    ) async throws -> Result<Output, Failure>? {
        guard !done else { return nil }
        while true {
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
                    throw Self.cancelError(message.payload)
                }
                let closes = message.controlFlags.contains(.streamClosed)
                if closes, case .close? = try? ControlPayload.parse(message.payload) {
                    done = true
                    call.markRemoteClosed()
                    return nil
                }
                if closes {
                    call.markRemoteClosed()
                    done = true
                }
                if let hooks = call.hooks { return try hooks.decodeResult(message.payload, Output.self, Failure.self) }
                return try Self.decodeResult(Self.parseResult(message.payload), Output.self, Failure.self)
            }
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

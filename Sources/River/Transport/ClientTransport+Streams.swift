/// Streams: the one place where a call's stream is registered, opened, written, closed,
/// cancelled and released. Every method takes the transport's lock, where the stream's
/// ``StreamState`` lives.
extension ClientTransport {
    /// Registers a stream whose messages will arrive in `inbox`. Nothing is sent yet: see
    /// ``open(_:)``. The caller must ``release(streamID:)`` it when its call ends.
    /// - Throws: ``RiverError`` when the transport is closed or shutting down.
    /// Not inlined (nor is ``release(streamID:)``): the async function of a call that calls
    /// them keeps its frame for the call's whole life, and their temporaries would be in it.
    @inline(never)
    package func register(streamID: String, inbox: CallInbox) throws(RiverError) {
        try inner.withLock { inner throws(RiverError) in
            if inner.closed { throw Self.closedError }
            if inner.draining { throw Self.drainingError }
            inner.streams[streamID] = StreamState(inbox: inbox)
        }
    }

    /// Sends a registered stream's open message, encoded already (``prepare(_:)``), waiting for
    /// send-buffer room first.
    ///
    /// The async functions here only hold the message and wait; the work is in synchronous
    /// functions that are not inlined, so their temporaries stay off the task's async frames
    /// (which a call keeps for its whole life). The message is moved out (`take()`) when sent,
    /// so the machine appends to its bytes without a copy.
    /// - Parameter closingRequests: Whether the message carries CLOSE (rpc, subscription).
    /// - Throws: ``RiverError``: why the stream ended while it waited (deadline, cancel,
    ///   closed transport), or a transport that began shutting down.
    package func open(
        _ message: SessionStateMachine.PreparedMessage, streamID: String, closingRequests: Bool
    ) async throws(RiverError) {
        var prepared: SessionStateMachine.PreparedMessage? = message
        while try !sendOpen(&prepared, streamID: streamID, closingRequests: closingRequests) {
            try await waitForRoom(streamID: streamID)
        }
    }

    /// Sends a stream's open message if there is room: `false` when it must wait.
    @inline(never)
    private func sendOpen(
        _ prepared: inout SessionStateMachine.PreparedMessage?, streamID: String, closingRequests: Bool
    ) throws(RiverError) -> Bool {
        try locked { inner throws(RiverError) -> Bool in
            guard let index = inner.streams.index(forKey: streamID) else { throw Self.endedError }
            if let error = inner.streams.values[index].endedWith { throw error }
            if inner.draining { throw Self.drainingError }
            // Taken exactly once: past this point the wait always ends.
            guard inner.machine.hasRoom(forBytes: 0), let message = prepared.take() else { return false }
            try sendMessage(message, in: &inner)
            // The same index: the actions a send leads to change streams in place and never
            // add or remove one (one hash of the id less per call).
            inner.streams.values[index].markOpened(in: inner.machine.sessionID, closingRequests: closingRequests)
            return true
        }
    }

    /// Writes one request on an open stream, waiting for send-buffer room first.
    /// - Throws: ``RiverError``: why the stream ended (also while waiting), a closed request
    ///   side, or the message's size or encoding.
    package func write(_ payload: RiverValue, on streamID: String) async throws(RiverError) {
        var prepared: SessionStateMachine.PreparedMessage? = try prepareRequest(payload, on: streamID)
        while try !sendRequest(&prepared, streamID: streamID) {
            try await waitForRoom(streamID: streamID)
        }
    }

    /// Encodes one request of stream `streamID` (see ``prepare(_:)``).
    @inline(never)
    private func prepareRequest(_ payload: RiverValue, on streamID: String) throws(RiverError) -> SessionStateMachine.PreparedMessage {
        try prepare(SessionStateMachine.Outbound(streamId: streamID, controlFlags: [], payload: payload))
    }

    /// Sends one request if there is room: `false` when it must wait.
    @inline(never)
    private func sendRequest(_ prepared: inout SessionStateMachine.PreparedMessage?, streamID: String) throws(RiverError) -> Bool {
        try locked { inner throws(RiverError) -> Bool in
            guard let index = inner.streams.index(forKey: streamID) else { throw Self.endedError }
            if let error = inner.streams.values[index].endedWith { throw error }
            if inner.streams.values[index].localClosed { throw Self.requestSideClosedError }
            guard inner.machine.hasRoom(forBytes: 0), let message = prepared.take() else { return false }
            let seq = try sendMessage(message, in: &inner)
            let (firstUnacked, session) = (inner.machine.firstUnackedSeq, inner.machine.sessionID)
            inner.streams.updateStream(streamID) { $0.recordWrite(seq: seq, firstUnacked: firstUnacked, session: session) }
            return true
        }
    }

    /// Closes a stream's request side: sends CLOSE once. A no-op when it is closed already or
    /// the stream is over.
    /// - Throws: ``RiverError`` when the CLOSE cannot be sent.
    package func closeRequests(of streamID: String) throws(RiverError) {
        let close = try prepare(
            SessionStateMachine.Outbound(streamId: streamID, controlFlags: .streamClosed, payload: ControlPayload.close.value))
        try locked { inner throws(RiverError) in
            guard let state = inner.streams[streamID], state.opened, !state.isOver, !state.localClosed else { return }
            try sendMessage(close, in: &inner)
            inner.streams.updateStream(streamID) { $0.localClosed = true }
            if state.remoteClosed { inner.wakeWaiters(of: streamID) }
        }
    }

    /// Waits until stream `streamID` ends: returns why it ended, `nil` when both sides closed
    /// cleanly or the waiting task is cancelled.
    package func waitUntilEnded(_ streamID: String) async -> RiverError? {
        while true {
            if case .some(let error) = endState(of: streamID) { return error }
            if Task.isCancelled { return nil }
            await park(streamID: streamID, until: .end)
        }
    }

    /// `nil` while stream `streamID` runs; once it is over, why it ended (`.some(nil)` after
    /// a clean close). Not inlined, so the error stays off the waiting task's async frame.
    @inline(never)
    private func endState(of streamID: String) -> RiverError?? {
        inner.withLock { inner -> RiverError?? in
            guard let state = inner.streams[streamID] else { return .some(Self.endedError) }
            return state.isOver ? .some(state.endedWith) : nil
        }
    }

    /// Cancels a stream: sends CANCEL (when its open went out) and ends it with `error`, under
    /// one lock, so no message the server sends afterwards (a CLOSE answering the cancel, say)
    /// reaches its reader. A no-op once the stream is over.
    package func cancel(streamID: String, with error: RiverError) {
        locked { inner in
            guard let state = inner.streams[streamID], !state.isOver else { return }
            if state.opened { sendCancel(streamID, in: &inner) }
            inner.endStream(streamID, with: error)
        }
    }

    /// Releases a stream at the end of its call: one whose server side is still open is
    /// cancelled, one whose request side is still open is closed; later messages for it are
    /// dropped. A draining transport closes once its last stream is released.
    @inline(never)
    package func release(streamID: String) {
        locked { inner in
            guard let state = inner.streams.removeValue(forKey: streamID) else { return }
            if state.opened && !state.isOver {
                if !state.remoteClosed {
                    sendCancel(streamID, in: &inner)
                } else if let close = try? prepare(
                    SessionStateMachine.Outbound(
                        streamId: streamID, controlFlags: .streamClosed, payload: ControlPayload.close.value))
                {
                    _ = try? sendMessage(close, in: &inner)
                }
            }
            if let reader = state.inbox.end() { inner.wakeups.append(reader) }
            inner.wakeWaiters(of: streamID)
            inner.closeIfDrained()
        }
    }

    /// Why the stream ended other than by both sides closing, if it did (a released stream
    /// counts as cancelled).
    package func endedError(of streamID: String) -> RiverError? {
        inner.withLock { inner in
            guard let state = inner.streams[streamID] else { return Self.endedError }
            return state.endedWith
        }
    }

    /// Requests written on a stream, and how many of them the server acknowledged.
    package func progress(of streamID: String) -> (sent: Int, acknowledged: Int) {
        inner.withLock { inner in
            let (session, firstUnacked) = (inner.machine.sessionID, inner.machine.firstUnackedSeq)
            return inner.streams.updateStream(streamID) { state in
                state.acknowledge(firstUnacked: firstUnacked, session: session)
                return (state.sent, state.acknowledged)
            } ?? (0, 0)
        }
    }

    // MARK: Sending

    /// Waits for send-buffer room, for the end of stream `streamID`, or for the task's
    /// cancellation, whichever comes first (a spurious wake-up is possible: callers try again).
    /// - Throws: ``RiverError`` with ``RiverError/Code/cancel`` when the task was cancelled.
    /// Not inlined: only a sender that must wait allocates its frame.
    @inline(never)
    private func waitForRoom(streamID: String) async throws(RiverError) {
        await park(streamID: streamID, until: .room)
        if Task.isCancelled {
            throw RiverError(code: .cancel, message: "cancelled while waiting for send-buffer room")
        }
    }

    /// What a parked task waits for, besides the end of its stream.
    private enum Wait {
        /// Send-buffer room (or the transport closing).
        case room
        /// Only the end of the stream.
        case end
    }

    /// Parks the task until what it waits for happens, stream `streamID` is over, or the task
    /// is cancelled (a spurious wake-up is possible: callers check again).
    private func park(streamID: String, until wait: Wait) async {
        let id = inner.withLock { inner -> UInt64 in
            defer { inner.nextWaiterID += 1 }
            return inner.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let ready = inner.withLock { inner -> Bool in
                    if Task.isCancelled { return true }
                    if case .room = wait, inner.machine.hasRoom(forBytes: 0) || inner.closed { return true }
                    guard let state = inner.streams[streamID], !state.isOver else { return true }
                    switch wait {
                    case .room: inner.roomWaiters[id] = (streamID, continuation)
                    case .end: inner.endWaiters[id] = (streamID, continuation)
                    }
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = inner.withLock { inner in
                switch wait {
                case .room: inner.roomWaiters.removeValue(forKey: id)
                case .end: inner.endWaiters.removeValue(forKey: id)
                }
            }
            waiter?.task.resume()
        }
    }

    private func sendCancel(_ streamID: String, in inner: inout Inner) {
        let cancel = ResultEnvelope.error(ErrorPayload(code: ReservedErrorCode.cancel, message: "cancelled by client"))
        let outbound = SessionStateMachine.Outbound(streamId: streamID, controlFlags: .streamCancel, payload: cancel.value)
        if let message = try? prepare(outbound) { _ = try? sendMessage(message, in: &inner) }
    }

    /// Encodes `outbound` as far as possible without the lock (see ``SessionStateMachine/OutboundEncoder``).
    /// Not inlined: the async senders that call it keep their frames small.
    @inline(never)
    func prepare(_ outbound: SessionStateMachine.Outbound) throws(RiverError) -> SessionStateMachine.PreparedMessage {
        do {
            return try encoder.prepare(outbound)
        } catch {
            throw Self.riverError(error)
        }
    }

    /// Hands a prepared message to the machine (seq, ack, buffer, write) and carries out its
    /// actions. The caller has checked the stream.
    /// - Returns: The message's seq.
    @discardableResult
    func sendMessage(
        _ prepared: consuming SessionStateMachine.PreparedMessage, in inner: inout Inner
    ) throws(RiverError) -> Int {
        let now = clock.now
        let jitter = inner.random.nextFraction()
        do {
            var actions = inner.takeActionBuffer()
            defer { inner.returnActionBuffer(&actions) }
            let seq = try inner.machine.send(prepared, now: now, jitter: jitter, into: &actions)
            perform(&actions, in: &inner)
            return seq
        } catch {
            throw Self.riverError(error)
        }
    }

    private static func riverError(_ error: SessionStateMachine.SendError) -> RiverError {
        switch error {
        case .closed:
            closedError
        case .tooLarge(let bytes, let limit):
            RiverError(code: .payloadTooLarge, message: "message of \(bytes) bytes exceeds the limit of \(limit) bytes")
        case .encoding(let message):
            RiverError(code: .encodingFailure, message: message)
        }
    }

    static var closedError: RiverError {
        RiverError.sessionFailure(RiverFailureCause(.clientClosed, "the client was closed"), server: "")
    }
    static var drainingError: RiverError {
        RiverError.sessionFailure(RiverFailureCause(.clientShuttingDown, "a graceful shutdown began"), server: "")
    }
    static var endedError: RiverError { RiverError(code: .cancel, message: "the call has ended") }
    static var requestSideClosedError: RiverError {
        RiverError(code: .cancel, message: "the request side of this call is closed")
    }
}

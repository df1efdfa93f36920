import Logging

/// Lifecycle and connections: ``run()``, connecting, closing, draining, event subscribers,
/// and the child tasks that dial and feed a connection's events into the machine.
extension ClientTransport {
    /// Runs dialing, connection reading and timers until ``close(cause:)``. When the task
    /// running it is cancelled, the transport closes: its calls end, its connection closes and
    /// no timer is left.
    package func run() async {
        defer {
            close(cause: RiverFailureCause(.clientClosed, "the task running the client was cancelled"))
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.runTimer() }
            for await job in jobs {
                switch job {
                case .dial(let attempt):
                    group.addTask { await self.dial(attempt: attempt) }
                case .metadata(let attempt):
                    group.addTask { await self.buildMetadata(attempt: attempt) }
                case .rehandshake(let sessionID):
                    group.addTask { await self.buildRehandshake(sessionID: sessionID) }
                case .stop:
                    group.cancelAll()
                    return
                }
            }
        }
    }

    /// Starts connecting now (otherwise the first send connects).
    package func connect() {
        apply { machine, now, jitter in machine.connect(now: now, jitter: jitter) }
    }

    /// Destroys the session: calls fail with UNEXPECTED_DISCONNECT; the next call starts a new one.
    package func hardDisconnect() {
        apply { machine, _, _ in machine.hardDisconnect() }
    }

    /// Closes for good: every stream fails with `cause`, later calls fail with "the client is
    /// closed", and ``run()`` returns.
    package func close(cause: RiverFailureCause = RiverFailureCause(.clientClosed, "the client was closed")) {
        let first = inner.withLock { inner -> Bool in
            if inner.closed { return false }
            inner.closed = true
            return true
        }
        guard first else { return }
        apply { machine, _, _ in machine.close(cause: cause) }
        let subscribers = inner.withLock { inner in
            let subscribers = Array(inner.subscribers.values)
            inner.subscribers.removeAll()
            return subscribers
        }
        for subscriber in subscribers { subscriber.finish() }
        observation.finish()
        jobsContinuation.yield(.stop)
        jobsContinuation.finish()
    }

    /// Graceful shutdown: new streams are refused at once; when the last registered stream
    /// is released, the transport closes.
    package func beginDraining() {
        let idle = inner.withLock { inner -> Bool in
            inner.draining = true
            return inner.streams.isEmpty
        }
        if idle { close() }
    }

    /// A new subscription to connection and session events. It starts with the current state:
    /// the live session, if any (``RiverEvent/SessionStatus/created(sessionID:)``), then the
    /// connection status (connected, connecting, or disconnected with the last failure).
    package func events() -> AsyncStream<RiverEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RiverEvent.self, bufferingPolicy: .bufferingNewest(1024))
        let id = inner.withLock { inner -> UInt64? in
            if inner.closed { return nil }
            let id = inner.nextSubscriberID
            inner.nextSubscriberID += 1
            inner.subscribers[id] = continuation
            // Under the lock: no event can come between the snapshot and the subscription.
            for event in Self.currentState(of: inner.machine) { continuation.yield(event) }
            return id
        }
        if let id {
            // A strong capture (a weak one would slow every retain of the transport, see
            // `ScopedReference`): the stream drops this closure once it has run, and it runs
            // at the latest when ``close(cause:)`` finishes every subscriber.
            continuation.onTermination = { _ in
                _ = self.inner.withLock { $0.subscribers.removeValue(forKey: id) }
            }
        } else {
            continuation.finish()
        }
        return stream
    }

    /// The events that describe where `machine` is now.
    private static func currentState(of machine: SessionStateMachine) -> [RiverEvent] {
        var events: [RiverEvent] = []
        if let sessionID = machine.sessionID { events.append(.sessionStatus(.created(sessionID: sessionID))) }
        switch machine.state {
        case .connected:
            if let sessionID = machine.sessionID { events.append(.connectionStatus(.connected(sessionID: sessionID))) }
        case .connecting(let attempt, _), .handshaking(let attempt, _, _):
            events.append(.connectionStatus(.connecting(attempt: Int(attempt))))
        case .noConnection, .backingOff, .destroyed:
            events.append(.connectionStatus(.disconnected(reason: machine.lastFailure?.description ?? "not connected")))
        }
        return events
    }

    // MARK: Child tasks

    private func dial(attempt: UInt64) async {
        let timeout = inner.withLock { $0.machine.configuration.connectionTimeout }
        // With prefetching, the metadata (say, a token fetch) is built while the socket opens.
        let prefetch = prefetchMetadata
        async let prefetched: Result<RiverValue?, MetadataError>? = prefetch ? await constructMetadata() : nil
        let connection: any RiverConnection
        do {
            connection = try await connector.connect(timeout: timeout)
        } catch {
            let fatal = isFatalConnectionError(error)
            logger.debug("connect failed", metadata: [
                    RiverLogMetadataKey.errorMessage: "\(error)", RiverLogMetadataKey.connectionAttempt: "\(attempt)",
                    RiverLogMetadataKey.serverID: "\(serverID)",
                ])
            // A connector that gives up by cancelling its own wait timed out (this task was
            // not cancelled: an abandoned attempt's result is ignored anyway).
            let cause =
                error is CancellationError && !Task.isCancelled
                ? RiverFailureCause(.connectTimeout, "the connection did not open within \(timeout)")
                : RiverFailureCause(connectFailure: error)
            apply { machine, now, jitter in
                machine.dialFailed(attempt: attempt, cause: cause, fatal: fatal, now: now, jitter: jitter)
            }
            return
        }
        let fastPath = connection as? any RiverFastPathConnection
        let accepted = locked { inner -> Bool in
            if inner.abandoned.remove(attempt) != nil { return false }
            var actions = inner.machine.dialSucceeded(attempt: attempt, now: clock.now)
            guard case .handshaking(let current, _, _) = inner.machine.state, current == attempt else { return false }
            inner.connection = LiveConnection(attempt: attempt, connection: connection, fastPath: fastPath)
            if prefetch { inner.prefetching.insert(attempt) }
            perform(&actions, in: &inner)
            return true
        }
        guard accepted else {
            connection.abort()
            return
        }
        if let result = await prefetched {
            apply { machine, now, _ in machine.metadataReady(attempt: attempt, result: result, now: now) }
        }
        // Connections that can call back on their I/O thread skip a hop through this task.
        if let fastPath {
            let dispatcher = ConnectionEventDispatcher(
                label: "river.client.inbound",
                // A strong capture (a weak one would give the connection a side table, making
                // every retain of it on the write path slow): the connection releases this
                // dispatcher with its handler once it delivered `.closed`.
                pauseReceiving: { paused in fastPath.setReceivingPaused(paused) }
            ) { [self] (event: consuming RiverConnectionEvent) in
                handle(consume event, attempt: attempt)
            }
            if fastPath.deliverOwnedEvents(to: dispatcher.dispatch) { return }
        }
        for await event in connection.events {
            handle(event, attempt: attempt)
        }
    }

    /// One event of the connection of `attempt`: a frame for the machine, or its end.
    ///
    /// Frames of a connection that is no longer the live one are dropped: a connection this
    /// client closed (watchdog, out-of-order message) or abandoned may still deliver what it
    /// had read before the close took effect, while the machine already handshakes or runs on
    /// a newer connection; fed to the machine, such a frame would pass for the new
    /// connection's (a handshaking session would take it for a malformed handshake response
    /// and be destroyed). The server replays whatever it did not get acknowledged.
    package func handle(_ event: consuming RiverConnectionEvent, attempt: UInt64) {
        switch consume event {
        case .message(let bytes):
            if let (seq, ack) = heartbeatCodec?.peekHeartbeat(bytes, from: serverIDBytes),
                heartbeatReceived(seq: seq, ack: ack, attempt: attempt)
            {
                return
            }
            // Decoded before taking the lock, so other tasks' sends are not held up by it.
            var decoded = decode(consume bytes, attempt: attempt)
            if decoded == nil { return }
            locked { inner in
                guard inner.connection?.attempt == attempt else { return }
                let jitter = inner.random.nextFraction()
                var actions = inner.takeActionBuffer()
                defer { inner.returnActionBuffer(&actions) }
                // Taken, so that once delivered the message is the caller's alone (a large
                // payload is freed when the caller lets go of it, not when this returns).
                if let message = decoded.take() {
                    inner.machine.frameReceived(decoded: message, now: clock.now, jitter: jitter, into: &actions)
                }
                perform(&actions, in: &inner)
            }
        case .textMessage:
            locked { inner in
                guard inner.connection?.attempt == attempt else { return }
                var actions = inner.machine.textFrameReceived(now: clock.now, jitter: inner.random.nextFraction())
                perform(&actions, in: &inner)
            }
        case .closed(let closure):
            locked { inner in
                if inner.connection?.attempt == attempt { inner.connection = nil }
                let jitter = inner.random.nextFraction()
                var actions =
                    closure.cause == .frameTooLarge
                    ? inner.machine.inboundMessageTooLarge(attempt: attempt, reason: closure.description)
                    : inner.machine.connectionClosed(
                        attempt: attempt, cause: Self.cause(of: closure), now: clock.now, jitter: jitter)
                perform(&actions, in: &inner)
            }
        }
    }

    /// A heartbeat recognised from its bytes: handled by the machine without decoding it
    /// (``SessionStateMachine/heartbeatReceived(seq:ack:now:into:)``), unless the machine
    /// would not take it as the next message (then `false`: the general path handles it).
    private func heartbeatReceived(seq: Int, ack: Int, attempt: UInt64) -> Bool {
        locked { inner -> Bool in
            // A frame of a connection that is no longer the live one is dropped, as below.
            guard inner.connection?.attempt == attempt else { return true }
            guard inner.machine.takesHeartbeat(seq: seq) else { return false }
            // Drawn as for any other frame, so the random sequence (backoff jitter) is the same.
            _ = inner.random.nextFraction()
            var actions = inner.takeActionBuffer()
            defer { inner.returnActionBuffer(&actions) }
            inner.machine.heartbeatReceived(seq: seq, ack: ack, now: clock.now, into: &actions)
            inner.heartbeatsWithoutDecoding &+= 1
            perform(&actions, in: &inner)
            return true
        }
    }

    /// Decodes `frame` and frees it (the caller holds no other reference), before the message
    /// is delivered: a large frame's memory is not held while its caller works on the result.
    /// - Returns: `nil` when the frame looks like the other codec's (the machine was told).
    private func decode(_ frame: consuming [UInt8], attempt: UInt64) -> Result<TransportMessage, RiverCodecError>? {
        if frame.count >= Self.acknowledgeAheadBytes { acknowledgeAhead(of: frame, attempt: attempt) }
        let decoded = Result { () throws(RiverCodecError) in try codec.decode(frame) }
        if case .failure = decoded, let mismatch = Self.foreignCodec(of: frame, expected: codec) {
            apply { machine, _, _ in machine.codecMismatch(attempt: attempt, detail: mismatch) }
            return nil
        }
        _ = consume frame
        return decoded
    }

    /// Frames from this size up have their acknowledgement applied before they are decoded.
    static let acknowledgeAheadBytes = ConnectionEventDispatcher.largeMessageBytes

    /// Drops the messages a large frame acknowledges before it is decoded (see
    /// ``SessionStateMachine/acknowledgeAhead(attempt:seq:ack:into:)``): an echo's request
    /// then leaves the send buffer before the answer's payload is decoded.
    private func acknowledgeAhead(of bytes: [UInt8], attempt: UInt64) {
        guard let peeking = codec as? any SeqAckPeeking, let (seq, ack) = peeking.peekSeqAck(bytes) else { return }
        locked { inner in
            guard inner.connection?.attempt == attempt else { return }
            var actions = inner.takeActionBuffer()
            defer { inner.returnActionBuffer(&actions) }
            inner.machine.acknowledgeAhead(attempt: attempt, seq: seq, ack: ack, into: &actions)
            perform(&actions, in: &inner)
        }
    }

    /// Why a connection that closed without this client asking ended.
    private static func cause(of closure: RiverConnectionClosure) -> RiverFailureCause {
        if closure.code == 1009 {
            return RiverFailureCause(.frameTooLarge, "a message exceeded the peer's size limit (\(closure))")
        }
        if closure.cause == .protocolViolation {
            return RiverFailureCause(.protocolViolation, "the server broke the WebSocket protocol (\(closure))")
        }
        return RiverFailureCause(.connectionLost, closure.description)
    }

    /// How an undecodable frame reads when it looks like the other codec's (a JSON object for
    /// a msgpack client, a msgpack map for a JSON client), else `nil`.
    static func foreignCodec(of bytes: [UInt8], expected codec: any RiverCodec) -> String? {
        guard let first = bytes.first else { return nil }
        let looksLikeJSON = first == UInt8(ascii: "{")
        let looksLikeMessagePack = (0x80...0x8F).contains(first) || first == 0xDE || first == 0xDF
        if codec is JSONCodec, looksLikeMessagePack {
            return "the server sent msgpack, but this client's codec is JSON"
        }
        if codec is MessagePackCodec, looksLikeJSON {
            return "the server sent JSON, but this client's codec is msgpack"
        }
        return nil
    }

    private func buildMetadata(attempt: UInt64) async {
        let result = await constructMetadata()
        apply { machine, now, _ in machine.metadataReady(attempt: attempt, result: result, now: now) }
    }

    private func constructMetadata() async -> Result<RiverValue?, MetadataError> {
        guard let metadata else { return .success(nil) }
        do {
            return .success(try await metadata())
        } catch {
            return .failure(MetadataError("\(error)"))
        }
    }

    private func buildRehandshake(sessionID: String) async {
        guard let metadata else {
            logger.warning("server asked for a rehandshake but no handshake metadata is configured")
            return
        }
        do {
            let value = try await metadata() ?? .null
            apply { machine, now, jitter in
                machine.rehandshakeMetadataReady(sessionID: sessionID, metadata: value, now: now, jitter: jitter)
            }
        } catch {
            logger.error("could not build rehandshake metadata", metadata: [RiverLogMetadataKey.errorMessage: "\(error)"])
        }
    }
}

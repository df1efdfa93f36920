import DequeModule
import Logging
import River

/// The whole server: sessions, streams and services. Only ever used under the server's mutex;
/// every method runs to completion without suspending, so sends are enqueued in seq order.
final class ServerCore {
    let serverID: String
    let codec: any RiverCodec
    let handshakeMode: Bool
    /// Serving `river.test.TestService` (protobuf payloads, see `ServerCore+Protobuf.swift`).
    let protobufMode: Bool
    /// Protobuf mode with `AuthHandshake` metadata required.
    let protobufHandshakeMode: Bool
    let procedures: [String: [String: ProcedureDescriptor]]
    let maxMessageSize: Int
    let logger: Logger
    var timings: RiverTestServer.Timings
    var faults = FaultState()
    /// Blocks large msgpack messages are encoded into, back once acknowledged (their pages
    /// stay resident, where fresh heap arrays were faulted in anew for every echo).
    let largeMessages = LargeMessagePool()

    var connections: [ConnectionID: ConnectionRecord] = [:]
    var sessions: [String: SessionRecord] = [:]
    /// Open procedure streams by stream id; add and remove them with `addStream`/`removeStream`.
    private(set) var streams: [String: StreamRecord] = [:]
    /// The ids of each client's open streams, so a session's teardown visits only its own.
    private var streamIDsByClient: [String: Set<String>] = [:]
    var tombstones: [String: Tombstones] = [:]
    var services = ServiceState()
    /// The trace context of the last stream-open message that carried one.
    var lastTraceContext: TracingContext?
    private var nextConnectionID: ConnectionID = 0
    private var nextToken = 0

    init(configuration: RiverTestServer.Configuration, logger: Logger) {
        self.serverID = configuration.serverID
        self.codec = configuration.codec
        self.handshakeMode = configuration.mode == .handshake
        self.protobufMode = configuration.mode == .protobuf || configuration.mode == .protobufHandshake
        self.protobufHandshakeMode = configuration.mode == .protobufHandshake
        self.procedures = ServiceCatalog.index(ServiceCatalog.procedures(for: configuration.mode))
        self.maxMessageSize = configuration.maxMessageSize
        self.timings = configuration.timings
        self.logger = logger
    }

    // MARK: Connections

    func register(
        _ connection: any RiverConnection,
        outbound: AsyncStream<Outbound>.Continuation,
        commands: AsyncStream<ConnectionCommand>.Continuation,
        now: ContinuousClock.Instant
    ) -> ConnectionID {
        nextConnectionID += 1
        connections[nextConnectionID] = ConnectionRecord(connection: connection, outbound: outbound, commands: commands, now: now)
        return nextConnectionID
    }

    private func enqueueFrame(_ bytes: [UInt8], on id: ConnectionID) {
        enqueueFrame(RiverMessageBytes(bytes), on: id)
    }

    private func enqueueFrame(_ bytes: RiverMessageBytes, on id: ConnectionID) {
        guard let record = connections[id] else { return }
        if faults.outgoingDelay == nil, !faults.blackholed, record.queuedFrames == 0 {
            // The fast path: nothing is delayed or waiting, so write now (sends never block)
            // instead of hopping through the writer task.
            record.connection.sendFrame(bytes)
            return
        }
        record.queuedFrames += 1
        record.outbound.yield(.frame(bytes, due: faults.outgoingDelay.map { ContinuousClock.now.advanced(by: $0) }))
    }

    /// Closes a connection cleanly after what was queued on it; nothing more is processed on it.
    private func closeConnection(_ id: ConnectionID, code: UInt16 = 1000) {
        guard let record = connections[id], !record.closing else { return }
        // A server-closed connection processes nothing more; its session (if any) enters the
        // grace period once the close is observed (`connectionClosed`).
        record.closing = true
        record.outbound.yield(.close(code: code, due: faults.outgoingDelay.map { ContinuousClock.now.advanced(by: $0) }))
    }

    /// The connection's events ended. Returns a grace ticket when it carried a live session.
    func connectionClosed(_ id: ConnectionID) -> GraceTicket? {
        guard let record = connections.removeValue(forKey: id) else { return nil }
        record.outbound.finish()
        record.commands.finish()
        guard case .established(let clientID) = record.phase, let session = sessions[clientID],
            session.connectionID == id
        else { return nil }
        session.connectionID = nil
        session.graceGeneration += 1
        session.rehandshakeToken = nil
        logger.debug("connection closed, session in grace", metadata: ["river.session.id": "\(session.id)"])
        return GraceTicket(
            clientID: clientID, sessionID: session.id, generation: session.graceGeneration,
            grace: timings.sessionDisconnectGrace)
    }

    /// The grace period of a disconnected session ran out: destroy it unless it reconnected.
    func graceElapsed(_ ticket: GraceTicket) {
        guard let session = sessions[ticket.clientID], session.id == ticket.sessionID,
            session.connectionID == nil, session.graceGeneration == ticket.generation
        else { return }
        logger.info("session grace period elapsed", metadata: ["river.session.id": "\(session.id)"])
        destroySession(session)
    }

    func handshakeTimedOut(_ id: ConnectionID) {
        guard let record = connections[id], !record.closing, case .awaitingHandshake = record.phase else { return }
        logger.debug("handshake timed out")
        closeConnection(id)
    }

    /// Every connection, for the drop and restart faults (aborted by the caller, outside the lock).
    func allConnections() -> [any RiverConnection] {
        connections.values.map(\.connection)
    }

    /// Forgets every session, stream and service value, like a freshly started process.
    func restart() -> [any RiverConnection] {
        let all = allConnections()
        for record in connections.values { record.closing = true }
        sessions.removeAll()
        streams.removeAll()
        streamIDsByClient.removeAll()
        tombstones.removeAll()
        services = ServiceState()
        return all
    }

    // MARK: Timers

    /// A heartbeat interval elapsed on `id`. Returns `false` once the connection is gone.
    func heartbeatTick(_ id: ConnectionID) -> Bool {
        guard let record = connections[id], !record.closing, case .established(let clientID) = record.phase,
            let session = sessions[clientID], session.connectionID == id
        else { return false }
        if faults.heartbeatsEnabled {
            sendSequenced(session: session, streamID: TransportMessage.heartbeatStreamID, flags: .ack, payload: ControlPayload.ack.value)
        }
        return true
    }

    /// When the watchdog of `id` must look again, or `nil` once the connection is gone.
    func watchdogDeadline(_ id: ConnectionID) -> ContinuousClock.Instant? {
        guard let record = connections[id], !record.closing, case .established = record.phase else { return nil }
        return record.lastValidInbound.advanced(by: missDuration)
    }

    /// Closes the connection when nothing valid arrived for `heartbeatsUntilDead` intervals.
    /// Returns `true` when it closed (or the connection is gone).
    func watchdogCheck(_ id: ConnectionID, now: ContinuousClock.Instant) -> Bool {
        guard let record = connections[id], !record.closing, case .established = record.phase else { return true }
        if faults.blackholed {
            // A blackholed server neither reads nor writes; it must not close the socket either.
            record.lastValidInbound = now
            return false
        }
        guard now - record.lastValidInbound >= missDuration else { return false }
        logger.info("closing connection: missed heartbeats")
        closeConnection(id)
        return true
    }

    private var missDuration: Duration { timings.heartbeatInterval * timings.heartbeatsUntilDead }

    // MARK: Inbound

    func receive(_ bytes: [UInt8], on id: ConnectionID, now: ContinuousClock.Instant) {
        if faults.blackholed {
            faults.discardedInboundFrames += 1
            return
        }
        guard let record = connections[id], !record.closing else { return }
        switch record.phase {
        case .awaitingHandshake:
            guard bytes.count <= maxMessageSize else {
                closeConnection(id, code: 1009)
                return
            }
            receiveHandshake(bytes, record: record, id: id, now: now)
        case .established(let clientID):
            guard let session = sessions[clientID], session.connectionID == id else { return }
            guard bytes.count <= maxMessageSize else {
                closeConnection(id, code: 1009)
                return
            }
            receiveEstablished(bytes, record: record, session: session, now: now)
        }
    }

    /// A text frame: River never sends one. Upstream `ws` closes without answering.
    func receiveText(on id: ConnectionID) {
        if faults.blackholed {
            faults.discardedInboundFrames += 1
            return
        }
        guard let record = connections[id], !record.closing else { return }
        switch record.phase {
        case .awaitingHandshake:
            closeConnection(id)
        case .established(let clientID):
            if let session = sessions[clientID], session.connectionID == id {
                destroySession(session)
            }
        }
    }

    private func receiveHandshake(_ bytes: [UInt8], record: ConnectionRecord, id: ConnectionID, now: ContinuousClock.Instant) {
        let message: TransportMessage
        do {
            message = try codec.decode(bytes)
        } catch {
            // Upstream: `onInvalidHandshake` closes without a response.
            logger.info("could not parse handshake message", metadata: ["river.error": "\(error)"])
            closeConnection(id)
            return
        }
        let request: HandshakeRequest
        switch try? ControlPayload.parse(message.payload) {
        case .handshakeRequest(let parsed)?:
            request = parsed
        default:
            reject(record, id: id, to: message.from, code: .malformedHandshake, reason: "received invalid handshake request")
            return
        }
        guard request.protocolVersion == riverProtocolVersion else {
            reject(
                record, id: id, to: message.from, code: .protocolVersionMismatch,
                reason: "expected protocol version oneof [\(riverProtocolVersion)], got \(request.protocolVersion)")
            return
        }
        var metadata: RiverValue?
        if protobufHandshakeMode {
            switch validateProtobufMetadata(request.metadata) {
            case .success(let parsed): metadata = parsed
            case .failure(let rejection):
                reject(record, id: id, to: message.from, code: rejection.code, reason: rejection.reason)
                return
            }
        }
        if handshakeMode {
            guard let meta = request.metadata, ServiceCatalog.handshakeSchema.check(meta) else {
                reject(record, id: id, to: message.from, code: .malformedHandshakeMeta, reason: "received malformed handshake metadata")
                return
            }
            guard meta["token"]?.stringValue == RiverTestServer.validToken else {
                reject(record, id: id, to: message.from, code: .rejectedByCustomHandler, reason: "rejected by handshake handler")
                return
            }
            metadata = meta
        }

        let clientID = message.from
        let claimedExpected = request.expectedSessionState.nextExpectedSeq
        let claimedSent = request.expectedSessionState.nextSentSeq
        var resumed: SessionRecord?
        if let old = sessions[clientID] {
            if old.id == request.sessionId {
                // Transparent reconnect: neither side may be "in the future".
                if claimedSent > old.ack {
                    reject(
                        record, id: id, to: clientID, code: .sessionStateMismatch,
                        reason: "client is in the future: server wanted next message to be \(old.ack) but client would have sent \(claimedSent)")
                    return
                }
                if old.nextSeq > claimedExpected {
                    reject(
                        record, id: id, to: clientID, code: .sessionStateMismatch,
                        reason: "server is in the future: client wanted next message to be \(claimedExpected) but server would have sent \(old.nextSeq)")
                    return
                }
                if let previous = old.connectionID {
                    // The old connection is superseded (upstream: Connected -> NoConnection).
                    closeConnection(previous)
                    old.connectionID = nil
                }
                resumed = old
            } else {
                // Hard reconnect: the client wants a new session; the old one goes.
                destroySession(old)
            }
        }
        if resumed == nil, claimedSent > 0 || claimedExpected > 0 {
            reject(
                record, id: id, to: clientID, code: .sessionStateMismatch,
                reason: "client is trying to reconnect to a session the server don't know about: \(request.sessionId)")
            return
        }

        let response = TransportMessage(
            id: RiverID.generate(), from: serverID, to: clientID, seq: 0, ack: 0, streamId: RiverID.generate(),
            controlFlags: [], payload: ControlPayload.handshakeResponse(.ok(sessionId: request.sessionId)).value)
        guard let responseBytes = try? codec.encode(response) else {
            closeConnection(id)
            return
        }
        enqueueFrame(responseBytes, on: id)

        let session = resumed ?? SessionRecord(id: request.sessionId, clientID: clientID)
        session.connectionID = id
        session.graceGeneration += 1
        session.metadata = metadata
        sessions[clientID] = session
        record.phase = .established(clientID: clientID)
        record.lastValidInbound = now
        // Replay every unacknowledged message, byte-identical, in order.
        for buffered in session.sendBuffer { enqueueFrame(buffered.bytes, on: id) }
        record.commands.yield(.startSessionTimers)
        logger.debug(
            "handshake ok",
            metadata: ["river.session.id": "\(session.id)", "river.client.id": "\(clientID)", "river.resumed": "\(resumed != nil)"])
    }

    private func reject(_ record: ConnectionRecord, id: ConnectionID, to: String, code: HandshakeErrorCode, reason: String) {
        logger.info("handshake rejected", metadata: ["river.code": "\(code)", "river.reason": "\(reason)"])
        let response = TransportMessage(
            id: RiverID.generate(), from: serverID, to: to, seq: 0, ack: 0, streamId: RiverID.generate(),
            controlFlags: [], payload: ControlPayload.handshakeResponse(.error(code: code, reason: reason)).value)
        if let bytes = try? codec.encode(response) { enqueueFrame(bytes, on: id) }
        closeConnection(id)
    }

    private func receiveEstablished(_ bytes: [UInt8], record: ConnectionRecord, session: SessionRecord, now: ContinuousClock.Instant) {
        let message: TransportMessage
        do {
            message = try codec.decode(bytes)
        } catch {
            logger.warning("invalid message, destroying session", metadata: ["river.error": "\(error)"])
            destroySession(session)
            return
        }
        guard message.from == session.clientID else {
            logger.warning("message from the wrong peer, destroying session")
            destroySession(session)
            return
        }
        if message.seq < session.ack {
            return  // a duplicate: drop silently
        }
        if message.seq > session.ack {
            logger.warning("out-of-order message, closing connection", metadata: ["river.seq": "\(message.seq)", "river.ack": "\(session.ack)"])
            if let id = session.connectionID {
                closeConnection(id)
            }
            return
        }
        // The buffer is in seq order: drop the acknowledged prefix.
        while let first = session.sendBuffer.first?.seq, first < message.ack {
            largeMessages.recycle(session.sendBuffer.removeFirst().bytes)
        }
        session.ack = message.seq + 1
        record.lastValidInbound = now

        if message.controlFlags.contains(.ack) {
            return  // heartbeats: this server heartbeats actively and does not answer them
        }
        if message.streamId == TransportMessage.rehandshakeStreamID {
            receiveRehandshake(message, session: session)
            return
        }
        route(message, session: session)
    }

    // MARK: Rehandshake

    /// Sends `REHANDSHAKE_REQ` on every connected session; returns how many were asked.
    func requestRehandshake(now: ContinuousClock.Instant) -> Int {
        var count = 0
        for session in sessions.values {
            guard let id = session.connectionID, let record = connections[id], !record.closing else { continue }
            nextToken += 1
            session.rehandshakeToken = nextToken
            sendSequenced(session: session, streamID: TransportMessage.rehandshakeStreamID, flags: [], payload: ControlPayload.rehandshakeRequest.value)
            record.commands.yield(.rehandshakeDeadline(now.advanced(by: timings.handshakeTimeout), token: nextToken))
            count += 1
        }
        return count
    }

    func rehandshakeDeadlineElapsed(token: Int) {
        guard let session = sessions.values.first(where: { $0.rehandshakeToken == token }) else { return }
        logger.info("rehandshake timed out, destroying session", metadata: ["river.session.id": "\(session.id)"])
        destroySession(session)
    }

    private func receiveRehandshake(_ message: TransportMessage, session: SessionRecord) {
        guard case .rehandshakeResponse(let metadata)? = try? ControlPayload.parse(message.payload) else {
            logger.warning("malformed rehandshake message, destroying session")
            destroySession(session)
            return
        }
        if protobufHandshakeMode {
            guard case .success(let parsed) = validateProtobufMetadata(metadata) else {
                logger.warning("rehandshake metadata rejected, destroying session")
                destroySession(session)
                return
            }
            session.metadata = parsed
        }
        if handshakeMode {
            guard ServiceCatalog.handshakeSchema.check(metadata), metadata["token"]?.stringValue == RiverTestServer.validToken else {
                logger.warning("rehandshake metadata rejected, destroying session")
                destroySession(session)
                return
            }
            session.metadata = metadata
        }
        session.rehandshakeToken = nil
    }

    // MARK: Sessions

    /// Tears a session down: its streams end as disconnected, its connection closes.
    func destroySession(_ session: SessionRecord) {
        guard sessions[session.clientID] === session else { return }
        sessions.removeValue(forKey: session.clientID)
        session.sendBuffer.removeAll()
        if let id = session.connectionID {
            closeConnection(id)
            session.connectionID = nil
        }
        for id in streamIDsByClient[session.clientID] ?? [] {
            if let stream = streams[id] { sessionLost(stream) }
        }
        tombstones.removeValue(forKey: session.clientID)
    }

    // MARK: Streams

    /// Registers a newly opened stream.
    func addStream(_ stream: StreamRecord) {
        streams[stream.id] = stream
        streamIDsByClient[stream.clientID, default: []].insert(stream.id)
    }

    /// Forgets a stream (if it is the one registered under its id).
    func removeStream(_ stream: StreamRecord) {
        guard streams[stream.id] === stream else { return }
        streams.removeValue(forKey: stream.id)
        if var ids = streamIDsByClient.removeValue(forKey: stream.clientID) {
            ids.remove(stream.id)
            if !ids.isEmpty { streamIDsByClient[stream.clientID] = ids }
        }
    }

    /// Encodes, sequences, buffers and (when connected) sends one message of `session`.
    func sendSequenced(session: SessionRecord, streamID: String, flags: ControlFlags, payload: RiverValue) {
        let message = TransportMessage(
            id: RiverID.generate(), from: serverID, to: session.clientID, seq: session.seq, ack: session.ack,
            streamId: streamID, controlFlags: flags, payload: payload)
        let bytes: RiverMessageBytes
        do {
            if let messagePack = codec as? MessagePackCodec {
                bytes = try largeMessages.encode(message, with: messagePack)
            } else {
                bytes = RiverMessageBytes(try codec.encode(message))
            }
        } catch {
            // Upstream: a send failure is a protocol error that destroys the session.
            logger.error("could not encode message, destroying session", metadata: ["river.error": "\(error)"])
            destroySession(session)
            return
        }
        session.seq += 1
        session.sendBuffer.append(.init(seq: message.seq, bytes: bytes))
        if let id = session.connectionID { enqueueFrame(bytes, on: id) }
    }

    /// Sends on behalf of a stream, only while the session that opened it is alive.
    func send(on stream: StreamRecord, flags: ControlFlags, payload: RiverValue) {
        guard let session = sessions[stream.clientID], session.id == stream.sessionID else { return }
        sendSequenced(session: session, streamID: stream.id, flags: flags, payload: payload)
    }
}

extension RiverConnection {
    /// Sends `bytes` as one message: without a copy on a connection that takes them as they
    /// are (`RiverFastPathConnection.enqueue(_:)`), else as an array.
    func sendFrame(_ bytes: RiverMessageBytes) {
        if let direct = self as? any RiverFastPathConnection {
            if direct.enqueue(bytes) { direct.flush() }
        } else {
            send(bytes.bytes)
        }
    }
}

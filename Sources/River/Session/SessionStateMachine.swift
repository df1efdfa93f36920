internal import DequeModule

/// The client side of a River session as a plain value: events in, actions out.
///
/// It owns everything that must survive a reconnect (session id, seq/ack, the send buffer
/// of encoded messages) and decides every transition of the specification's diagram:
///
/// ```
/// noConnection → backingOff → connecting → handshaking → connected
///       ↑______________|____________|____________|____________|   (drop, timeout, failure)
/// any state → destroyed (close)
/// ```
///
/// It performs no I/O and reads no clock: time comes in as `now`, randomness as a jitter
/// fraction, and the shell (``ClientTransport``) carries out the returned ``Action``s.
/// Encoding is pure computation, so the machine encodes with its codec itself: the buffer
/// holds the exact bytes that are replayed after a reconnect.
public struct SessionStateMachine: Sendable {
    /// A point in time; the machine never reads a clock, callers pass `now`.
    public typealias Instant = ContinuousClock.Instant

    /// Timing and limit settings; defaults equal the reference client's.
    public struct Configuration: Sendable, Hashable {
        /// How often the server sends heartbeats (reference: 1000 ms).
        public var heartbeatInterval: Duration = .milliseconds(1000)
        /// Missed heartbeat intervals before the connection is closed (reference: 2).
        public var heartbeatsUntilDead: Int = 2
        /// How long a disconnected session may wait for a reconnect (reference: 5000 ms).
        public var sessionDisconnectGrace: Duration = .milliseconds(5000)
        /// How long opening the socket may take (reference: 2000 ms).
        public var connectionTimeout: Duration = .milliseconds(2000)
        /// How long the handshake may take after the socket opened (reference: 1000 ms).
        public var handshakeTimeout: Duration = .milliseconds(1000)
        /// Resume the same session after a dropped connection (reference: on).
        public var enableTransparentReconnects = true
        /// Connect as soon as a message is sent while disconnected (reference: on).
        public var connectOnInvoke = true
        /// Reconnect backoff and budget.
        public var backoff: RetryBudget.Configuration = .defaults
        /// Most unacknowledged data messages the send buffer holds before writers wait.
        /// (The reference's buffer is unbounded, with an advisory 1024-message high-water
        /// mark.) Servers acknowledge on their next message — often only the next heartbeat,
        /// once a second — so this must hold about a second's worth of writes, or uploads
        /// stall waiting for acks. Memory is bounded by ``maxBufferedBytes``.
        public var maxBufferedMessages: Int = 1 << 20
        /// Most unacknowledged bytes the send buffer holds before writers wait. It counts the
        /// encoded messages, 4 bytes of index each and the unused ends of the buffer's blocks
        /// (PROTOCOL.md §7), so it is also, within three blocks, the buffer's memory.
        public var maxBufferedBytes: Int = 32 << 20
        /// Largest encoded message this client sends; larger sends fail at once.
        public var maxMessageBytes: Int = 16 << 20

        /// Creates the reference defaults.
        public init() {}

        /// The reference client's settings.
        public static let defaults = Configuration()

        var deadInterval: Duration { heartbeatInterval * heartbeatsUntilDead }
    }

    /// The connection phase.
    public enum State: Sendable, Hashable {
        /// No connection and none being made.
        case noConnection
        /// Waiting out the backoff before attempt `attempt`.
        case backingOff(attempt: UInt64, until: Instant)
        /// Opening the socket of attempt `attempt`.
        case connecting(attempt: UInt64, deadline: Instant)
        /// Socket open; waiting for metadata (`sent == false`) or the handshake response.
        case handshaking(attempt: UInt64, deadline: Instant, sent: Bool)
        /// Live; `lastValidInbound` feeds the heartbeat watchdog.
        case connected(attempt: UInt64, lastValidInbound: Instant)
        /// Closed for good; every send fails.
        case destroyed
    }

    /// What the shell must do.
    public enum Action: Sendable, Equatable {
        /// Open a connection for `attempt` (within the connection timeout).
        case dial(attempt: UInt64)
        /// Drop whatever connection `attempt` has or will have, without waiting.
        case abandonAttempt(attempt: UInt64)
        /// Build handshake metadata for `attempt` and report ``metadataReady(attempt:result:now:)``.
        case constructMetadata(attempt: UInt64)
        /// Build fresh metadata for a rehandshake of session `sessionID`.
        case constructRehandshakeMetadata(sessionID: String)
        /// Write these bytes, in order, to the current connection.
        case write(RiverMessageBytes)
        /// Close the current connection cleanly (1000).
        case closeConnection(reason: String)
        /// Hand this message to its stream.
        case deliver(TransportMessage)
        /// Fail every stream of the destroyed session with UNEXPECTED_DISCONNECT, for `cause`.
        case failAllStreams(RiverFailureCause)
        /// Writers waiting for buffer room may retry.
        case bufferHasRoom
        /// Tell observers.
        case emit(RiverEvent)
    }

    /// Why a send was refused.
    public enum SendError: Error, Sendable, Equatable {
        /// The machine is destroyed (client closed).
        case closed
        /// The encoded message is larger than ``Configuration/maxMessageBytes``.
        case tooLarge(bytes: Int, limit: Int)
        /// The codec could not encode the message.
        case encoding(String)
    }

    /// A message to send, before seq/ack/ids are assigned.
    public struct Outbound: Sendable, Hashable {
        /// The stream.
        public var streamId: String
        /// Control flags.
        public var controlFlags: ControlFlags
        /// The payload.
        public var payload: RiverValue
        /// Service name (stream-open only).
        public var serviceName: String?
        /// Procedure name (stream-open only).
        public var procedureName: String?
        /// Trace context (stream-open only).
        public var tracing: TracingContext?

        /// Creates an outbound message.
        public init(
            streamId: String, controlFlags: ControlFlags, payload: RiverValue,
            serviceName: String? = nil, procedureName: String? = nil, tracing: TracingContext? = nil
        ) {
            self.streamId = streamId
            self.controlFlags = controlFlags
            self.payload = payload
            self.serviceName = serviceName
            self.procedureName = procedureName
            self.tracing = tracing
        }
    }

    struct Session: Sendable {
        var id: String
        /// The next seq expected from the server.
        var ack = 0
        /// Sent messages not yet acknowledged; it also numbers them.
        var buffer = SendBuffer()
        /// Stored as a ``StoredInstant`` so that `Session` (and `Session?`) stays a loadable
        /// type the hot paths read in place: `ContinuousClock.Instant` is resilient, and a
        /// struct holding one is copied through value witnesses on every access.
        var grace: StoredInstant?
        var graceDeadline: Instant? {
            get { grace?.instant }
            set { grace = newValue.map(StoredInstant.init) }
        }
        var everConnected = false

        /// Drops what the peer acknowledged (`seq < ack`) and records `received` as the last
        /// in-order message from the peer.
        mutating func acknowledge(upTo ack: Int, received: Int) {
            buffer.release(upTo: ack)
            self.ack = received + 1
        }
    }

    /// The settings.
    public let configuration: Configuration
    /// This client's id (`from` of every message).
    public let clientID: String
    /// The server's id (`to` of every message; `from` of every valid inbound message).
    public let serverID: String
    private let codec: any RiverCodec
    /// Encodes outbound messages up to their seq and ack; usable without the machine's lock.
    package let encoder: OutboundEncoder

    /// The connection phase.
    public private(set) var state: State {
        get {
            switch phase {
            case .noConnection: .noConnection
            case .backingOff(let attempt, let until): .backingOff(attempt: attempt, until: until.instant)
            case .connecting(let attempt, let deadline): .connecting(attempt: attempt, deadline: deadline.instant)
            case .handshaking(let attempt, let deadline, let sent):
                .handshaking(attempt: attempt, deadline: deadline.instant, sent: sent)
            case .connected(let attempt, let last): .connected(attempt: attempt, lastValidInbound: last.instant)
            case .destroyed: .destroyed
            }
        }
        set {
            let previous = phase
            switch newValue {
            case .noConnection: phase = .noConnection
            case .backingOff(let attempt, let until): phase = .backingOff(attempt: attempt, until: StoredInstant(until))
            case .connecting(let attempt, let deadline): phase = .connecting(attempt: attempt, deadline: StoredInstant(deadline))
            case .handshaking(let attempt, let deadline, let sent):
                phase = .handshaking(attempt: attempt, deadline: StoredInstant(deadline), sent: sent)
            case .connected(let attempt, let last): phase = .connected(attempt: attempt, lastValidInbound: StoredInstant(last))
            case .destroyed: phase = .destroyed
            }
            // Traffic on a live connection only moves the watchdog deadline later.
            if case .connected(let old, _) = previous, case .connected(let new, _) = phase, old == new { return }
            deadlineGeneration &+= 1
        }
    }

    /// ``State`` as stored: its instants as ``StoredInstant``s, so that the hot paths (every
    /// message reads the phase, every heartbeat moves `lastValidInbound`) copy a plain value
    /// instead of going through `ContinuousClock.Instant`'s value witnesses. They read and
    /// write `phase` directly (a live connection's traffic never changes the deadline
    /// generation); everything else goes through ``state``.
    private enum Phase {
        case noConnection
        case backingOff(attempt: UInt64, until: StoredInstant)
        case connecting(attempt: UInt64, deadline: StoredInstant)
        case handshaking(attempt: UInt64, deadline: StoredInstant, sent: Bool)
        case connected(attempt: UInt64, lastValidInbound: StoredInstant)
        case destroyed
    }
    private var phase: Phase = .noConnection
    /// Changes whenever ``nextDeadline`` may have moved earlier (a new phase, a grace period or
    /// a budget refill starting), so a timer need not recompute it after every message.
    private(set) var deadlineGeneration: UInt64 = 0
    private(set) var session: Session?
    /// The reconnect budget.
    public private(set) var budget: RetryBudget
    private var nextAttempt: UInt64 = 1
    private var reconnectOnDrop = true
    /// The last failure of a connection or connection attempt since the session was last
    /// connected: what a grace period that expires while reconnecting reports.
    public private(set) var lastFailure: RiverFailureCause?

    /// Creates a machine with no session and no connection.
    public init(configuration: Configuration, clientID: String, serverID: String, codec: any RiverCodec) {
        self.configuration = configuration
        self.clientID = clientID
        self.serverID = serverID
        self.codec = codec
        self.encoder = OutboundEncoder(codec: codec, clientID: clientID, serverID: serverID)
        self.budget = RetryBudget(configuration: configuration.backoff)
    }

    // MARK: Inspection

    /// The live session's id, if any.
    public var sessionID: String? { session?.id }
    /// The trace context the session's handshakes carry (its `river.session` span's, set by
    /// the transport when the session is created); empty without a tracer.
    public var handshakeTracing: TracingContext = .empty
    /// The seq the next sent message gets.
    public var nextSeq: Int? { session?.buffer.nextSeq }
    /// The next seq expected from the server.
    public var ack: Int? { session?.ack }
    /// Unacknowledged messages held for replay.
    public var bufferedCount: Int { session?.buffer.count ?? 0 }
    /// What the held messages count against ``Configuration/maxBufferedBytes``: their bytes,
    /// 4 bytes each for their index and the unused ends of the buffer's blocks (PROTOCOL.md §7).
    public var bufferedBytes: Int { session?.buffer.bytes ?? 0 }
    /// The seq of the oldest unacknowledged message, else the next seq (nil without a session).
    public var firstUnackedSeq: Int? { session?.buffer.firstSeq }
    /// The seqs held for replay, oldest first.
    public var bufferedSeqs: [Int] { session.map { Array($0.buffer.firstSeq..<$0.buffer.nextSeq) } ?? [] }
    /// Whether the machine is connected.
    public var isConnected: Bool { if case .connected = phase { true } else { false } }

    /// Whether a data message of `bytes` fits in the send buffer now.
    public func hasRoom(forBytes bytes: Int) -> Bool {
        // Scalars only: binding the session would copy (retain) its id and buffer on a hot path.
        guard let count = session?.buffer.count, count > 0, let buffered = session?.buffer.bytes else { return true }
        return count < configuration.maxBufferedMessages && buffered + bytes <= configuration.maxBufferedBytes
    }

    /// `!hasRoom(forBytes: 0)`, for the machine's own mutating methods. `mutating` only so
    /// that they pass themselves by reference: the machine is address-only (it holds resilient
    /// `ContinuousClock.Instant`s), and a non-mutating call from a mutating method copied all
    /// of it, twice per received message.
    private mutating func bufferIsFull() -> Bool {
        guard let count = session?.buffer.count, let buffered = session?.buffer.bytes else { return false }
        return isFull(count: count, bytes: buffered)
    }

    /// Whether a send buffer holding `count` messages of `bytes` in all is full.
    private func isFull(count: Int, bytes: Int) -> Bool {
        count > 0 && !(count < configuration.maxBufferedMessages && bytes <= configuration.maxBufferedBytes)
    }

    /// The earliest time ``tick(now:jitter:)`` has something to do, if any.
    public var nextDeadline: Instant? {
        // Allocation-free: the transport reads this after every event to re-arm its timer.
        func earlier(_ a: Instant?, _ b: Instant?) -> Instant? {
            guard let a else { return b }
            guard let b else { return a }
            return min(a, b)
        }
        var deadline: Instant?
        switch phase {
        case .backingOff(_, let until): deadline = until.instant
        case .connecting(_, let until), .handshaking(_, let until, _): deadline = until.instant
        case .connected(_, let last): deadline = last.instant + configuration.deadInterval
        case .noConnection, .destroyed: deadline = nil
        }
        return earlier(earlier(deadline, session?.graceDeadline), budget.nextRestore)
    }

    // MARK: Events

    /// The user (or a send) wants a connection.
    /// - Parameter jitter: A random fraction in `0..<1` for the backoff.
    public mutating func connect(now: Instant, jitter: Double) -> [Action] {
        guard case .noConnection = state else { return [] }
        var actions: [Action] = []
        ensureSession(now: now, actions: &actions)
        guard budget.hasBudget else {
            // The reference refills the budget only after a successful handshake, so an
            // exhausted client never dials again. A daemon must outlive a long outage: we
            // start refilling here, so a later call (or connect) gets a new attempt.
            budget.startRestoring(now: now)
            deadlineGeneration &+= 1
            actions.append(
                .emit(.protocolError(ProtocolErrorEvent(
                    kind: .retriesExceeded,
                    message: "tried to connect to \(serverID) but the retry budget is exhausted (\(budget.consumed) attempts)"))))
            return actions
        }
        let delay = budget.backoff(jitterFraction: jitter)
        budget.consume()
        let attempt = nextAttempt
        nextAttempt += 1
        if delay <= .zero {
            startDial(attempt: attempt, now: now, actions: &actions)
        } else {
            state = .backingOff(attempt: attempt, until: now + delay)
        }
        return actions
    }

    /// The socket of `attempt` opened.
    public mutating func dialSucceeded(attempt: UInt64, now: Instant) -> [Action] {
        guard case .connecting(let current, _) = state, current == attempt else {
            return [.abandonAttempt(attempt: attempt)]
        }
        state = .handshaking(attempt: attempt, deadline: now + configuration.handshakeTimeout, sent: false)
        return [.constructMetadata(attempt: attempt)]
    }

    /// The socket of `attempt` failed to open.
    /// - Parameter fatal: The user's classifier said not to retry.
    public mutating func dialFailed(attempt: UInt64, reason: String, fatal: Bool, now: Instant, jitter: Double) -> [Action] {
        dialFailed(attempt: attempt, cause: RiverFailureCause(.connectFailed, reason), fatal: fatal, now: now, jitter: jitter)
    }

    /// The socket of `attempt` failed to open because of `cause`.
    /// - Parameter fatal: Not to retry (the user's classifier said so, or the cause is
    ///   permanent): the session is destroyed.
    public mutating func dialFailed(
        attempt: UInt64, cause: RiverFailureCause, fatal: Bool, now: Instant, jitter: Double
    ) -> [Action] {
        guard case .connecting(let current, _) = state, current == attempt else { return [] }
        state = .noConnection
        lastFailure = cause
        var actions: [Action] = [.emit(.connectionStatus(.disconnected(reason: cause.description)))]
        if fatal || cause.isPermanent {
            reconnectOnDrop = false
            destroySession(cause, actions: &actions)
            return actions
        }
        actions += tryReconnecting(now: now, jitter: jitter)
        return actions
    }

    /// Handshake metadata for `attempt` is ready (or could not be built).
    public mutating func metadataReady(attempt: UInt64, result: Result<RiverValue?, MetadataError>, now: Instant) -> [Action] {
        guard case .handshaking(let current, let deadline, false) = state, current == attempt, let session else { return [] }
        var actions: [Action] = []
        switch result {
        case .failure(let error):
            actions.append(.closeConnection(reason: "handshake metadata failed"))
            actions.append(.emit(.protocolError(ProtocolErrorEvent(
                kind: .handshakeFailed(code: nil), message: "failed to construct handshake metadata: \(error.message)"))))
            state = .noConnection
            destroySession(RiverFailureCause(.handshakeMetadataFailed, error.message), actions: &actions)
        case .success(let metadata):
            let request = HandshakeRequest(
                sessionId: session.id,
                expectedSessionState: ExpectedSessionState(
                    nextExpectedSeq: session.ack,
                    nextSentSeq: session.buffer.firstSeq),
                metadata: metadata)
            let message = TransportMessage(
                id: RiverID.generate(), from: clientID, to: serverID, seq: 0, ack: 0,
                streamId: RiverID.generate(), controlFlags: [],
                payload: ControlPayload.handshakeRequest(request).value, tracing: handshakeTracing)
            do {
                actions.append(.write(RiverMessageBytes(try codec.encode(message))))
                state = .handshaking(attempt: attempt, deadline: deadline, sent: true)
            } catch {
                actions.append(.closeConnection(reason: "handshake encoding failed"))
                actions.append(.emit(.protocolError(ProtocolErrorEvent(kind: .messageSendFailure, message: "could not encode handshake: \(error)"))))
                state = .noConnection
                destroySession(RiverFailureCause(.connectFailed, "could not encode the handshake: \(error)"), actions: &actions)
            }
        }
        return actions
    }

    /// A binary frame arrived on the current connection.
    public mutating func frameReceived(_ bytes: [UInt8], now: Instant, jitter: Double) -> [Action] {
        frameReceived(decoded: Result { () throws(RiverCodecError) in try codec.decode(bytes) }, now: now, jitter: jitter)
    }

    /// A binary frame arrived and was already decoded (the shell decodes outside its lock).
    /// - Parameter decoded: The message, or why the frame could not be decoded.
    public mutating func frameReceived(decoded: Result<TransportMessage, RiverCodecError>, now: Instant, jitter: Double) -> [Action] {
        var actions: [Action] = []
        frameReceived(decoded: decoded, now: now, jitter: jitter, into: &actions)
        return actions
    }

    /// ``frameReceived(decoded:now:jitter:)`` appending its actions to `actions` (a buffer the
    /// caller reuses).
    package mutating func frameReceived(
        decoded: Result<TransportMessage, RiverCodecError>, now: Instant, jitter: Double, into actions: inout [Action]
    ) {
        switch phase {
        case .handshaking(let attempt, _, true):
            actions += handshakeFrame(decoded, attempt: attempt, now: now, jitter: jitter)
        case .connected(let attempt, _):
            connectedFrame(decoded, attempt: attempt, now: now, jitter: jitter, into: &actions)
        default:
            break
        }
    }

    /// Whether ``heartbeatReceived(seq:ack:now:into:)`` can take a heartbeat with `seq` now:
    /// connected, and `seq` the next one expected. Anything else (a duplicate, a gap, another
    /// phase) goes through ``frameReceived(decoded:now:jitter:)``, which reports it.
    package func takesHeartbeat(seq: Int) -> Bool {
        guard let expected = session?.ack, expected == seq else { return false }
        if case .connected = phase { return true }
        return false
    }

    /// A message with the Ack bit from the server, recognised without decoding it (its other
    /// fields are well formed and ignored, see `MessagePackCodec.peekHeartbeat(_:from:)`), that
    /// ``takesHeartbeat(seq:)`` accepted: exactly what
    /// ``frameReceived(decoded:now:jitter:)`` does for it (drops what `ack` acknowledges,
    /// records `seq`, pushes the watchdog back, answers with a heartbeat that enters the send
    /// buffer), with the echo appended from bytes encoded once.
    /// - Parameter actions: Receives the echo's write (and ``Action/bufferHasRoom`` when
    ///   writers waited for the room).
    package mutating func heartbeatReceived(seq: Int, ack: Int, now: Instant, into actions: inout [Action]) {
        // The session is taken out and put back on every way out, so that nothing here copies
        // it (reading it through the optional did, on every heartbeat).
        guard case .connected(let attempt, _) = phase, var current = session.take() else { return }
        defer { session = current }
        guard current.ack == seq else { return }
        let wasFull = isFull(count: current.buffer.count, bytes: current.buffer.bytes)
        current.acknowledge(upTo: ack, received: seq)
        phase = .connected(attempt: attempt, lastValidInbound: StoredInstant(now))
        if wasFull, !isFull(count: current.buffer.count, bytes: current.buffer.bytes) { actions.append(.bufferHasRoom) }
        // As `send(_:now:jitter:into:)` for the heartbeat `connectedFrame` prepares: connected,
        // so the echo is written; a failure (too large for a tiny limit) is ignored as there.
        let seq = current.buffer.nextSeq
        guard
            let bytes = try? encoder.appendHeartbeat(
                seq: seq, ack: current.ack, to: &current.buffer, limit: configuration.maxMessageBytes)
        else { return }
        actions.append(.write(bytes))
    }

    /// The `seq` and `ack` of a frame that arrived on the connection of `attempt`, read ahead
    /// of decoding it (a large frame): drops the messages it acknowledges now, as
    /// ``frameReceived(decoded:now:jitter:)`` will for that frame, so they are freed before its
    /// payload is decoded. Only for the next in-order message while connected, as there; the
    /// rest of the frame is still checked when it is decoded.
    /// - Parameter actions: Receives ``Action/bufferHasRoom`` when writers waited for the room.
    package mutating func acknowledgeAhead(attempt: UInt64, seq: Int, ack: Int, into actions: inout [Action]) {
        guard case .connected(let current, _) = state, current == attempt, session?.ack == seq else { return }
        let wasFull = bufferIsFull()
        session?.buffer.release(upTo: ack)
        if wasFull, !bufferIsFull() { actions.append(.bufferHasRoom) }
    }

    /// A text frame arrived: River never sends one, so the connection is closed (the session
    /// survives and reconnects).
    public mutating func textFrameReceived(now: Instant, jitter: Double) -> [Action] {
        switch state {
        case .handshaking, .connected:
            var actions: [Action] = [
                .emit(.protocolError(ProtocolErrorEvent(kind: .invalidMessage, message: "received a text frame; River uses binary frames only"))),
                .closeConnection(reason: "text frame"),
            ]
            actions += lostConnection(
                RiverFailureCause(.protocolViolation, "the server sent a text frame"), now: now, jitter: jitter)
            return actions
        default:
            return []
        }
    }

    /// The connection of `attempt` closed or dropped.
    public mutating func connectionClosed(attempt: UInt64, reason: String, now: Instant, jitter: Double) -> [Action] {
        connectionClosed(attempt: attempt, cause: RiverFailureCause(.connectionLost, reason), now: now, jitter: jitter)
    }

    /// The connection of `attempt` closed or dropped because of `cause`.
    public mutating func connectionClosed(attempt: UInt64, cause: RiverFailureCause, now: Instant, jitter: Double) -> [Action] {
        switch state {
        case .handshaking(let current, _, _) where current == attempt,
            .connected(let current, _) where current == attempt:
            return lostConnection(cause, now: now, jitter: jitter)
        case .connecting(let current, _) where current == attempt:
            return dialFailed(attempt: attempt, cause: cause, fatal: false, now: now, jitter: jitter)
        default:
            return []
        }
    }

    /// A frame of `attempt`'s connection could not be decoded and looks like the other codec's
    /// (`detail` says which): the server speaks another codec, so the session is destroyed.
    public mutating func codecMismatch(attempt: UInt64, detail: String) -> [Action] {
        switch state {
        case .handshaking(let current, _, _) where current == attempt,
            .connected(let current, _) where current == attempt:
            var actions: [Action] = [
                .emit(.protocolError(ProtocolErrorEvent(kind: .invalidMessage, message: detail))),
                .closeConnection(reason: "codec mismatch"),
            ]
            state = .noConnection
            destroySession(RiverFailureCause(.codecMismatch, detail), actions: &actions)
            return actions
        default:
            return []
        }
    }

    /// The connection of `attempt` refused an inbound message over its size limit (and
    /// closed with 1009). The server would replay that message after every reconnect, so the
    /// session can never make progress: it is destroyed, as for any invalid message.
    public mutating func inboundMessageTooLarge(attempt: UInt64, reason: String) -> [Action] {
        switch state {
        case .handshaking(let current, _, _) where current == attempt,
            .connected(let current, _) where current == attempt:
            var actions: [Action] = []
            invalidMessage(
                RiverFailureCause(.frameTooLarge, "a message from the server exceeded the size limit: \(reason)"),
                actions: &actions)
            return actions
        default:
            return []
        }
    }

    /// Assigns seq/ack/id to `outbound`, encodes it, buffers it and writes it if connected.
    ///
    /// Encoding happens first: a message that fails to encode, or is too large, consumes no seq.
    /// - Returns: The message's seq and the actions (a write, or a connect).
    public mutating func send(_ outbound: Outbound, now: Instant, jitter: Double) throws(SendError) -> (seq: Int, actions: [Action]) {
        if case .destroyed = state { throw .closed }
        var actions: [Action] = []
        let seq = try send(encoder.prepare(outbound), now: now, jitter: jitter, into: &actions)
        return (seq, actions)
    }

    /// Sends a message ``encoder`` prepared (outside the caller's lock): assigns its seq and
    /// ack, buffers it and writes it if connected. A message that is too large consumes no seq.
    /// - Parameter actions: Receives the actions (a write, or a connect); the caller reuses one
    ///   array instead of allocating one per message.
    /// - Returns: The message's seq.
    package mutating func send(
        _ prepared: consuming PreparedMessage, now: Instant, jitter: Double, into actions: inout [Action]
    ) throws(SendError) -> Int {
        if case .destroyed = phase { throw .closed }
        ensureSession(now: now, actions: &actions)
        // Moved out while it grows, so the send buffer is never copied (copy-on-write).
        guard var current = session.take() else { throw .closed }
        let seq = current.buffer.nextSeq
        let bytes: RiverMessageBytes
        do {
            defer { session = current }
            bytes = try encoder.append(
                prepared, seq: seq, ack: current.ack, to: &current.buffer, limit: configuration.maxMessageBytes)
        }
        switch phase {
        case .connected:
            actions.append(.write(bytes))
        case .noConnection where configuration.connectOnInvoke && reconnectOnDrop:
            actions += connect(now: now, jitter: jitter)
        default:
            break
        }
        return seq
    }

    /// Time passed: fires whichever deadline is due.
    public mutating func tick(now: Instant, jitter: Double) -> [Action] {
        budget.advance(to: now)
        var actions: [Action] = []
        if let grace = session?.graceDeadline, grace <= now {
            switch state {
            case .connected, .destroyed: break
            case .backingOff:
                state = .noConnection
            case .connecting(let attempt, _), .handshaking(let attempt, _, _):
                actions.append(.abandonAttempt(attempt: attempt))
                state = .noConnection
            case .noConnection: break
            }
            let grace = configuration.sessionDisconnectGrace
            destroySession(
                RiverFailureCause(
                    .graceExpired, "no connection within the session's grace period of \(grace)", previous: lastFailure),
                actions: &actions)
            return actions
        }
        switch state {
        case .backingOff(let attempt, let until) where until <= now:
            startDial(attempt: attempt, now: now, actions: &actions)
        case .connecting(let attempt, let deadline) where deadline <= now:
            actions.append(.abandonAttempt(attempt: attempt))
            state = .noConnection
            let cause = RiverFailureCause(
                .connectTimeout, "the connection did not open within \(configuration.connectionTimeout)")
            lastFailure = cause
            actions.append(.emit(.connectionStatus(.disconnected(reason: cause.description))))
            actions += tryReconnecting(now: now, jitter: jitter)
        case .handshaking(_, let deadline, _) where deadline <= now:
            actions.append(.closeConnection(reason: "handshake timed out"))
            actions += lostConnection(
                RiverFailureCause(.handshakeTimeout, "no handshake response within \(configuration.handshakeTimeout)"),
                now: now, jitter: jitter)
        case .connected(_, let last) where now - last >= configuration.deadInterval:
            actions.append(.closeConnection(reason: "heartbeat watchdog"))
            actions += lostConnection(
                RiverFailureCause(
                    .heartbeatTimeout,
                    "no message from the server for \(configuration.heartbeatsUntilDead) heartbeat intervals"),
                now: now, jitter: jitter)
        default:
            break
        }
        return actions
    }

    /// Fresh metadata for a rehandshake of `sessionID` is ready: send `REHANDSHAKE_RESP`.
    public mutating func rehandshakeMetadataReady(sessionID: String, metadata: RiverValue, now: Instant, jitter: Double) -> [Action] {
        guard session?.id == sessionID else { return [] }
        let outbound = Outbound(
            streamId: TransportMessage.rehandshakeStreamID, controlFlags: [],
            payload: ControlPayload.rehandshakeResponse(metadata: metadata).value)
        do {
            return try send(outbound, now: now, jitter: jitter).actions
        } catch {
            return [.emit(.protocolError(ProtocolErrorEvent(kind: .messageSendFailure, message: "could not send rehandshake response: \(error)")))]
        }
    }

    /// Destroys the session now (calls fail with UNEXPECTED_DISCONNECT); a later send or
    /// ``connect(now:jitter:)`` starts a new one.
    public mutating func hardDisconnect() -> [Action] {
        var actions: [Action] = []
        abandonCurrent(actions: &actions)
        if case .destroyed = state {} else { state = .noConnection }
        destroySession(RiverFailureCause(.hardDisconnect, "hardDisconnect() was called"), actions: &actions)
        return actions
    }

    /// Closes for good: the session is destroyed (its calls fail with `cause`) and every
    /// later send fails.
    public mutating func close(
        cause: RiverFailureCause = RiverFailureCause(.clientClosed, "the client was closed")
    ) -> [Action] {
        var actions: [Action] = []
        abandonCurrent(actions: &actions)
        state = .destroyed
        destroySession(cause, actions: &actions)
        return actions
    }

    // MARK: Internals

    private mutating func ensureSession(now: Instant, actions: inout [Action]) {
        if session != nil { return }
        if case .destroyed = state { return }
        let id = RiverID.generateSessionID()
        session = Session(id: id, grace: StoredInstant(now + configuration.sessionDisconnectGrace))
        deadlineGeneration &+= 1
        actions.append(.emit(.sessionStatus(.created(sessionID: id))))
    }

    private mutating func startDial(attempt: UInt64, now: Instant, actions: inout [Action]) {
        state = .connecting(attempt: attempt, deadline: now + configuration.connectionTimeout)
        actions.append(.emit(.connectionStatus(.connecting(attempt: Int(attempt)))))
        actions.append(.dial(attempt: attempt))
    }

    private mutating func abandonCurrent(actions: inout [Action]) {
        switch state {
        case .connecting(let attempt, _):
            actions.append(.abandonAttempt(attempt: attempt))
        case .handshaking, .connected:
            actions.append(.closeConnection(reason: "session closed"))
        default:
            break
        }
    }

    /// The live or handshaking connection is gone because of `cause`: keep the session, start
    /// its grace period, and reconnect.
    private mutating func lostConnection(_ cause: RiverFailureCause, now: Instant, jitter: Double) -> [Action] {
        state = .noConnection
        var cause = cause
        cause.wasConnected = session?.everConnected ?? false
        lastFailure = cause
        if var current = session, current.graceDeadline == nil {
            current.graceDeadline = now + configuration.sessionDisconnectGrace
            session = current
            deadlineGeneration &+= 1
        }
        var actions: [Action] = [.emit(.connectionStatus(.disconnected(reason: cause.description)))]
        actions += tryReconnecting(now: now, jitter: jitter)
        return actions
    }

    private mutating func tryReconnecting(now: Instant, jitter: Double) -> [Action] {
        var actions: [Action] = []
        if !configuration.enableTransparentReconnects, session != nil {
            destroySession(
                RiverFailureCause(.reconnectsDisabled, "transparent reconnects are disabled", previous: lastFailure),
                actions: &actions)
        }
        if reconnectOnDrop, state == .noConnection {
            actions += connect(now: now, jitter: jitter)
        }
        return actions
    }

    /// Destroys the session because of `cause`: its calls fail with it.
    private mutating func destroySession(_ cause: RiverFailureCause, actions: inout [Action]) {
        guard let session else { return }
        self.session = nil
        var cause = cause
        cause.wasConnected = cause.wasConnected || session.everConnected
        actions.append(.failAllStreams(cause))
        actions.append(.emit(.sessionStatus(.destroyed(sessionID: session.id, reason: cause.description))))
        actions.append(.bufferHasRoom)
    }

    private mutating func handshakeFrame(
        _ decoded: Result<TransportMessage, RiverCodecError>, attempt: UInt64, now: Instant, jitter: Double
    ) -> [Action] {
        var actions: [Action] = []
        let response: HandshakeResponse
        do {
            let message = try decoded.get()
            guard message.from == serverID else {
                actions.append(.closeConnection(reason: "wrong server"))
                actions.append(.emit(.protocolError(ProtocolErrorEvent(
                    kind: .invalidMessage,
                    message: "the handshake response is from '\(message.from)', but this client talks to '\(serverID)'"))))
                state = .noConnection
                destroySession(
                    RiverFailureCause(.wrongServer, "the server answered as '\(message.from)', expected '\(serverID)'"),
                    actions: &actions)
                return actions
            }
            guard case .handshakeResponse(let parsed)? = try ControlPayload.parse(message.payload) else {
                throw PayloadShapeError("expected HANDSHAKE_RESP, got another message")
            }
            response = parsed
        } catch {
            actions.append(.closeConnection(reason: "malformed handshake response"))
            actions.append(.emit(.protocolError(ProtocolErrorEvent(
                kind: .handshakeFailed(code: .malformedHandshake), message: "received invalid handshake response: \(error)"))))
            state = .noConnection
            destroySession(
                RiverFailureCause(.protocolViolation, "invalid handshake response: \(error)"), actions: &actions)
            return actions
        }
        guard var session else { return actions }
        switch response {
        case .ok(let sessionID) where sessionID == session.id:
            state = .connected(attempt: attempt, lastValidInbound: now)
            let replayed = session.buffer.count
            session.buffer.forEach { actions.append(.write($0)) }
            let resumed = session.everConnected
            session.everConnected = true
            session.graceDeadline = nil
            self.session = session
            lastFailure = nil
            budget.startRestoring(now: now)
            deadlineGeneration &+= 1
            actions.append(.emit(.connectionStatus(.connected(sessionID: sessionID))))
            if resumed {
                actions.append(.emit(.sessionStatus(.resumed(sessionID: sessionID, replayed: replayed))))
            }
        case .ok(let other):
            actions.append(.closeConnection(reason: "session id mismatch"))
            state = .noConnection
            destroySession(
                RiverFailureCause(
                    .serverRestarted, "the server answered for session \(other) instead of \(session.id)"),
                actions: &actions)
        case .error(let code, let reason):
            actions.append(.closeConnection(reason: "handshake rejected"))
            state = .noConnection
            let cause =
                code.isRetriable
                ? RiverFailureCause(
                    .serverRestarted, "the server no longer knows the session: \(reason)", handshakeCode: code,
                    wasConnected: true)
                : RiverFailureCause(.handshakeRejected, reason, handshakeCode: code)
            destroySession(cause, actions: &actions)
            if code.isRetriable {
                actions += tryReconnecting(now: now, jitter: jitter)
            } else {
                actions.append(.emit(.protocolError(ProtocolErrorEvent(
                    kind: .handshakeFailed(code: code), message: "handshake failed: \(reason)"))))
            }
        }
        return actions
    }

    private mutating func connectedFrame(
        _ decoded: Result<TransportMessage, RiverCodecError>, attempt: UInt64, now: Instant, jitter: Double,
        into actions: inout [Action]
    ) {
        let message: TransportMessage
        do {
            message = try decoded.get()
        } catch {
            invalidMessage(RiverFailureCause(.protocolViolation, "could not parse message: \(error)"), actions: &actions)
            return
        }
        guard message.from == serverID else {
            invalidMessage(
                RiverFailureCause(
                    .wrongServer, "received a message from '\(message.from)', but the session peer is '\(serverID)'"),
                actions: &actions)
            return
        }
        guard let expected = session?.ack else { return }
        if message.seq < expected {
            // A duplicate (a replay) is dropped, but it shows the connection is alive: after a
            // resume the server replays everything the client had not acknowledged, and
            // working through a long replay must not look like silence (see PROTOCOL.md §8).
            phase = .connected(attempt: attempt, lastValidInbound: StoredInstant(now))
            return
        }
        if message.seq > expected {
            actions.append(.closeConnection(reason: "out-of-order message"))
            actions.append(.emit(.protocolError(ProtocolErrorEvent(
                kind: .invalidMessage,
                message: "received out-of-order message (got seq \(message.seq), wanted \(expected)); reconnecting"))))
            actions += lostConnection(
                RiverFailureCause(
                    .protocolViolation, "out-of-order message (got seq \(message.seq), wanted \(expected))"),
                now: now, jitter: jitter)
            return
        }
        let wasFull = bufferIsFull()
        // Mutated in place (optional chaining), so the buffer is never copied.
        session?.acknowledge(upTo: message.ack, received: message.seq)
        phase = .connected(attempt: attempt, lastValidInbound: StoredInstant(now))
        if wasFull, !bufferIsFull() { actions.append(.bufferHasRoom) }
        if message.controlFlags.contains(.ack) {
            // Passive heartbeating, like the reference client: answer every Ack-bit message.
            let heartbeat = Outbound(
                streamId: TransportMessage.heartbeatStreamID, controlFlags: .ack, payload: ControlPayload.ack.value)
            if let prepared = try? encoder.prepare(heartbeat) {
                _ = try? send(prepared, now: now, jitter: jitter, into: &actions)
            }
            return
        }
        if message.streamId == TransportMessage.rehandshakeStreamID {
            if case .rehandshakeRequest? = try? ControlPayload.parse(message.payload), let sessionID = session?.id {
                actions.append(.constructRehandshakeMetadata(sessionID: sessionID))
            }
            return
        }
        actions.append(.deliver(message))
    }

    private mutating func invalidMessage(_ cause: RiverFailureCause, actions: inout [Action]) {
        actions.append(.emit(.protocolError(ProtocolErrorEvent(kind: .invalidMessage, message: cause.detail))))
        actions.append(.closeConnection(reason: "invalid message"))
        state = .noConnection
        destroySession(cause, actions: &actions)
    }
}

/// Handshake metadata could not be built (the user's function threw).
public struct MetadataError: Error, Sendable, Hashable {
    /// What went wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
}

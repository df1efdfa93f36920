import Testing
@testable import River

/// Drives ``SessionStateMachine`` as a value: no sockets, no clock.
struct MachineHarness {
    var machine: SessionStateMachine
    let codec: any RiverCodec
    let start = ContinuousClock.now
    var now: ContinuousClock.Instant
    var attempt: UInt64 = 0

    init(codec: any RiverCodec = JSONCodec(), _ configure: (inout SessionStateMachine.Configuration) -> Void = { _ in }) {
        var configuration = SessionStateMachine.Configuration.defaults
        configure(&configuration)
        self.codec = codec
        machine = SessionStateMachine(configuration: configuration, clientID: "client", serverID: "SERVER", codec: codec)
        now = start
    }

    mutating func advance(_ duration: Duration) -> [SessionStateMachine.Action] {
        now = now + duration
        return machine.tick(now: now, jitter: 0)
    }

    func serverFrame(seq: Int, ack: Int, stream: String = "s1", flags: ControlFlags = [], payload: RiverValue, from: String = "SERVER") -> [UInt8] {
        let message = TransportMessage(
            id: RiverID.generate(), from: from, to: "client", seq: seq, ack: ack, streamId: stream,
            controlFlags: flags, payload: payload)
        return (try? codec.encode(message)) ?? []
    }

    func handshakeResponse(_ response: HandshakeResponse) -> [UInt8] {
        serverFrame(seq: 0, ack: 0, stream: RiverID.generate(), payload: ControlPayload.handshakeResponse(response).value)
    }

    /// Connects through dial, metadata and an ok handshake; returns the handshake request sent.
    @discardableResult
    mutating func connect(metadata: RiverValue? = nil) throws -> HandshakeRequest {
        var actions = machine.connect(now: now, jitter: 0)
        actions += advanceToDial()
        let dial = try #require(actions.compactMap { if case .dial(let a) = $0 { a } else { nil } }.last)
        attempt = dial
        #expect(machine.dialSucceeded(attempt: dial, now: now) == [.constructMetadata(attempt: dial)])
        let sent = machine.metadataReady(attempt: dial, result: .success(metadata), now: now)
        let request = try handshakeRequest(in: sent)
        let id = try #require(machine.sessionID)
        _ = machine.frameReceived(handshakeResponse(.ok(sessionId: id)), now: now, jitter: 0)
        #expect(machine.isConnected)
        return request
    }

    /// Ticks until a backoff ends (if one is running).
    mutating func advanceToDial() -> [SessionStateMachine.Action] {
        if case .backingOff(_, let until) = machine.state {
            now = until
            return machine.tick(now: now, jitter: 0)
        }
        return []
    }

    func handshakeRequest(in actions: [SessionStateMachine.Action]) throws -> HandshakeRequest {
        let bytes = try #require(writes(in: actions).first)
        let message = try codec.decode(bytes)
        #expect(message.tracing == .empty)
        guard case .handshakeRequest(let request)? = try ControlPayload.parse(message.payload) else {
            Issue.record("not a handshake request")
            throw PayloadShapeError("not a handshake request")
        }
        return request
    }

    func writes(in actions: [SessionStateMachine.Action]) -> [[UInt8]] {
        actions.compactMap { if case .write(let bytes) = $0 { bytes.bytes } else { nil } }
    }

    func decodedWrites(in actions: [SessionStateMachine.Action]) throws -> [TransportMessage] {
        try writes(in: actions).map { try codec.decode($0) }
    }

    mutating func send(_ stream: String = "s1", payload: RiverValue = ["n": 1]) throws -> (Int, [SessionStateMachine.Action]) {
        let result = try machine.send(.init(streamId: stream, controlFlags: [], payload: payload), now: now, jitter: 0)
        return (result.seq, result.actions)
    }
}

extension [SessionStateMachine.Action] {
    var failsStreams: Bool { contains { if case .failAllStreams = $0 { true } else { false } } }
    /// Why the streams fail, when they do.
    var failure: RiverFailureCause? { lazy.compactMap { if case .failAllStreams(let cause) = $0 { cause } else { nil } }.first }
    var dials: Bool { contains { if case .dial = $0 { true } else { false } } }
    var closesConnection: Bool { contains { if case .closeConnection = $0 { true } else { false } } }
    var delivered: [TransportMessage] { compactMap { if case .deliver(let m) = $0 { m } else { nil } } }
    var protocolErrors: [ProtocolErrorEvent] {
        compactMap { if case .emit(.protocolError(let e)) = $0 { e } else { nil } }
    }
}

@Suite("Session state machine")
struct SessionStateMachineTests {
    /// The transport's timer recomputes the next deadline only when this generation changed:
    /// it must change whenever a deadline may have moved earlier, and not on plain traffic.
    @Test func deadlineGenerationMarksEveryChangeThatCanMoveADeadlineEarlier() throws {
        var h = MachineHarness()
        var seen = h.machine.deadlineGeneration
        func changed(_ h: MachineHarness, _ seen: inout UInt64) -> Bool {
            defer { seen = h.machine.deadlineGeneration }
            return h.machine.deadlineGeneration != seen
        }
        try h.connect()  // a session (grace), connect and handshake deadlines, then the watchdog
        #expect(changed(h, &seen))
        // Traffic on the live connection only moves the watchdog later.
        h.now = h.now + .milliseconds(10)
        _ = h.machine.frameReceived(h.serverFrame(seq: 0, ack: 0, payload: ["n": 1]), now: h.now, jitter: 0)
        _ = try h.send()
        #expect(!changed(h, &seen))
        // A drop starts the grace period and a reconnect.
        _ = h.machine.connectionClosed(attempt: h.attempt, reason: "dropped", now: h.now, jitter: 0)
        #expect(changed(h, &seen))
    }

    @Test func firstConnectDialsAtOnceAndCreatesSession() {
        var h = MachineHarness()
        let actions = h.machine.connect(now: h.now, jitter: 0.5)
        #expect(actions.dials)
        #expect(h.machine.sessionID?.hasPrefix("session-") == true)
        guard case .connecting = h.machine.state else { Issue.record("expected connecting"); return }
    }

    @Test func handshakeRequestCarriesStateTracingAndOptionalMetadata() throws {
        var h = MachineHarness()
        let request = try h.connect()
        #expect(request.protocolVersion == "v2.0")
        #expect(request.expectedSessionState == ExpectedSessionState(nextExpectedSeq: 0, nextSentSeq: 0))
        #expect(request.metadata == nil)
        var h2 = MachineHarness()
        let withMeta = try h2.connect(metadata: ["token": "valid-token"])
        #expect(withMeta.metadata == ["token": "valid-token"])
    }

    @Test func sendWhileConnectedWritesSequencedFramesAndBuffersThem() throws {
        var h = MachineHarness()
        try h.connect()
        let (seq0, a0) = try h.send()
        let (seq1, a1) = try h.send()
        #expect(seq0 == 0 && seq1 == 1)
        let written = try h.decodedWrites(in: a0 + a1)
        #expect(written.map(\.seq) == [0, 1])
        #expect(h.machine.bufferedSeqs == [0, 1])
        // An inbound message acking seq 1 prunes seq 0.
        let actions = h.machine.frameReceived(h.serverFrame(seq: 0, ack: 1, payload: ["ok": true, "payload": [:]]), now: h.now, jitter: 0)
        #expect(actions.delivered.count == 1)
        #expect(h.machine.bufferedSeqs == [1])
        #expect(h.machine.ack == 1)
    }

    @Test func sendWhileDisconnectedBuffersAndConnects() throws {
        var h = MachineHarness()
        let (seq, actions) = try h.send()
        #expect(seq == 0)
        #expect(actions.dials)
        #expect(h.writes(in: actions).isEmpty)
        #expect(h.machine.bufferedCount == 1)
    }

    @Test func replayAfterReconnectIsByteIdenticalAndClaimsOldestUnacked() throws {
        var h = MachineHarness()
        try h.connect()
        let (_, a0) = try h.send()
        let (_, a1) = try h.send()
        let original = h.writes(in: a0 + a1)
        _ = h.machine.frameReceived(h.serverFrame(seq: 0, ack: 1, payload: ["ok": true, "payload": [:]]), now: h.now, jitter: 0)
        // The connection drops; a message is sent while disconnected.
        var actions = h.machine.connectionClosed(attempt: h.attempt, reason: "dropped", now: h.now, jitter: 0)
        let (_, a2) = try h.send()
        #expect(h.writes(in: a2).isEmpty)
        actions += h.advanceToDial()
        let dial = try #require(actions.compactMap { if case .dial(let a) = $0 { a } else { nil } }.last)
        _ = h.machine.dialSucceeded(attempt: dial, now: h.now)
        let request = try h.handshakeRequest(in: h.machine.metadataReady(attempt: dial, result: .success(nil), now: h.now))
        #expect(request.expectedSessionState == ExpectedSessionState(nextExpectedSeq: 1, nextSentSeq: 1))
        let id = try #require(h.machine.sessionID)
        #expect(request.sessionId == id)
        let resumed = h.machine.frameReceived(h.handshakeResponse(.ok(sessionId: id)), now: h.now, jitter: 0)
        let replay = h.writes(in: resumed)
        #expect(replay.count == 2)
        #expect(replay[0] == original[1])
        #expect(try h.codec.decode(replay[1]).seq == 2)
        #expect(resumed.contains(.emit(.sessionStatus(.resumed(sessionID: id, replayed: 2)))))
    }

    @Test func duplicateIsDroppedAndFutureSeqClosesTheConnection() throws {
        var h = MachineHarness()
        try h.connect()
        let first = h.serverFrame(seq: 0, ack: 0, payload: ["ok": true, "payload": [:]])
        #expect(h.machine.frameReceived(first, now: h.now, jitter: 0).delivered.count == 1)
        #expect(h.machine.frameReceived(first, now: h.now, jitter: 0).isEmpty)
        let future = h.machine.frameReceived(h.serverFrame(seq: 5, ack: 0, payload: [:]), now: h.now, jitter: 0)
        #expect(future.closesConnection)
        #expect(!future.failsStreams)
        #expect(h.machine.sessionID != nil)
        #expect(!h.machine.isConnected)
    }

    @Test func messageFromAnotherPeerDestroysTheSession() throws {
        var h = MachineHarness()
        try h.connect()
        let actions = h.machine.frameReceived(h.serverFrame(seq: 0, ack: 0, payload: [:], from: "MALLORY"), now: h.now, jitter: 0)
        #expect(actions.failsStreams)
        #expect(actions.protocolErrors.first?.kind == .invalidMessage)
        #expect(h.machine.sessionID == nil)
    }

    @Test func undecodableFrameDestroysTheSession() throws {
        var h = MachineHarness()
        try h.connect()
        let actions = h.machine.frameReceived(Array("not json".utf8), now: h.now, jitter: 0)
        #expect(actions.failsStreams)
        #expect(actions.protocolErrors.first?.kind == .invalidMessage)
    }

    @Test func heartbeatIsEchoedSequencedAndNotDelivered() throws {
        var h = MachineHarness()
        try h.connect()
        let beat = h.serverFrame(seq: 0, ack: 0, stream: "heartbeat", flags: .ack, payload: ["type": "ACK"])
        let actions = h.machine.frameReceived(beat, now: h.now, jitter: 0)
        #expect(actions.delivered.isEmpty)
        let echo = try #require(try h.decodedWrites(in: actions).first)
        #expect(echo.streamId == "heartbeat")
        #expect(echo.controlFlags == .ack)
        #expect(echo.payload == ["type": "ACK"])
        #expect(echo.seq == 0 && echo.ack == 1)
        #expect(h.machine.bufferedSeqs == [0])
    }

    @Test func watchdogClosesTheConnectionNotTheSession() throws {
        var h = MachineHarness()
        try h.connect()
        #expect(!h.advance(.milliseconds(1999)).closesConnection)
        let actions = h.advance(.milliseconds(1))
        #expect(actions.closesConnection)
        #expect(!actions.failsStreams)
        #expect(h.machine.sessionID != nil)
    }

    @Test func validInboundRefreshesTheWatchdog() throws {
        var h = MachineHarness()
        try h.connect()
        _ = h.advance(.milliseconds(1500))
        _ = h.machine.frameReceived(h.serverFrame(seq: 0, ack: 0, stream: "heartbeat", flags: .ack, payload: ["type": "ACK"]), now: h.now, jitter: 0)
        #expect(!h.advance(.milliseconds(1500)).closesConnection)
        #expect(h.advance(.milliseconds(500)).closesConnection)
    }

    /// After a resume the server replays everything the client had not acknowledged; a long
    /// replay is all duplicates, and working through it is not silence.
    @Test func duplicatesRefreshTheWatchdogButAreNotDelivered() throws {
        var h = MachineHarness()
        try h.connect()
        let first = h.machine.frameReceived(h.serverFrame(seq: 0, ack: 0, payload: ["n": 1]), now: h.now, jitter: 0)
        #expect(first.delivered.count == 1)
        for _ in 0..<3 {
            _ = h.advance(.milliseconds(1500))
            let duplicate = h.machine.frameReceived(h.serverFrame(seq: 0, ack: 0, payload: ["n": 1]), now: h.now, jitter: 0)
            #expect(duplicate.isEmpty)
        }
        #expect(!h.advance(.milliseconds(1999)).closesConnection)
        #expect(h.advance(.milliseconds(1)).closesConnection)
    }

    @Test func graceExpiryWhileDisconnectedDestroysTheSession() throws {
        var h = MachineHarness { $0.backoff.attemptBudgetCapacity = 1 }
        try h.connect()
        _ = h.machine.connectionClosed(attempt: h.attempt, reason: "dropped", now: h.now, jitter: 0)
        #expect(!h.advance(.milliseconds(4999)).failsStreams)
        let actions = h.advance(.milliseconds(1))
        #expect(actions.failsStreams)
        #expect(actions.failure?.kind == .graceExpired)
        #expect(actions.failure?.previous?.kind == .connectionLost)
        #expect(actions.failure?.wasConnected == true)
        #expect(h.machine.sessionID == nil)
    }

    @Test func graceIsNotExtendedByRetries() throws {
        var h = MachineHarness()
        try h.connect()
        _ = h.machine.connectionClosed(attempt: h.attempt, reason: "dropped", now: h.now, jitter: 0)
        var destroyedAt: Duration?
        var elapsed: Duration = .zero
        // Every attempt fails at once; the grace deadline (5 s after the drop) still holds.
        while elapsed < .seconds(10), destroyedAt == nil {
            let actions = h.advance(.milliseconds(10))
            elapsed += .milliseconds(10)
            for case .dial(let attempt) in actions {
                _ = h.machine.dialFailed(attempt: attempt, reason: "refused", fatal: false, now: h.now, jitter: 0)
            }
            if actions.failsStreams { destroyedAt = elapsed }
        }
        #expect(destroyedAt == .seconds(5))
    }

    @Test func sessionStateMismatchDestroysAndRetriesWithANewSession() throws {
        var h = MachineHarness()
        _ = h.machine.connect(now: h.now, jitter: 0)
        let oldID = try #require(h.machine.sessionID)
        _ = h.machine.dialSucceeded(attempt: 1, now: h.now)
        _ = h.machine.metadataReady(attempt: 1, result: .success(nil), now: h.now)
        let actions = h.machine.frameReceived(
            h.handshakeResponse(.error(code: .sessionStateMismatch, reason: "mismatch")), now: h.now, jitter: 0)
        #expect(actions.failsStreams)
        #expect(actions.protocolErrors.isEmpty)
        #expect(h.machine.sessionID != nil && h.machine.sessionID != oldID)
        guard case .backingOff = h.machine.state else { Issue.record("expected a retry"); return }
    }

    @Test(arguments: [
        HandshakeErrorCode.malformedHandshake, .malformedHandshakeMeta, .protocolVersionMismatch,
        .rejectedByCustomHandler, .rejectedUnsupportedClient,
    ])
    func fatalHandshakeCodesStopReconnecting(code: HandshakeErrorCode) throws {
        var h = MachineHarness()
        _ = h.machine.connect(now: h.now, jitter: 0)
        _ = h.machine.dialSucceeded(attempt: 1, now: h.now)
        _ = h.machine.metadataReady(attempt: 1, result: .success(nil), now: h.now)
        let actions = h.machine.frameReceived(h.handshakeResponse(.error(code: code, reason: "no")), now: h.now, jitter: 0)
        #expect(actions.failsStreams)
        #expect(actions.protocolErrors.map(\.kind) == [.handshakeFailed(code: code)])
        #expect(!actions.dials)
        #expect(h.machine.state == .noConnection)
        #expect(h.machine.sessionID == nil)
    }

    @Test func okWithAnotherSessionIDDestroysTheSession() throws {
        var h = MachineHarness()
        _ = h.machine.connect(now: h.now, jitter: 0)
        _ = h.machine.dialSucceeded(attempt: 1, now: h.now)
        _ = h.machine.metadataReady(attempt: 1, result: .success(nil), now: h.now)
        let actions = h.machine.frameReceived(h.handshakeResponse(.ok(sessionId: "session-other")), now: h.now, jitter: 0)
        #expect(actions.failsStreams)
        #expect(actions.closesConnection)
        #expect(!h.machine.isConnected)
    }

    @Test func malformedHandshakeReplyIsAHandshakeFailure() throws {
        var h = MachineHarness()
        _ = h.machine.connect(now: h.now, jitter: 0)
        _ = h.machine.dialSucceeded(attempt: 1, now: h.now)
        _ = h.machine.metadataReady(attempt: 1, result: .success(nil), now: h.now)
        let reply = h.serverFrame(seq: 0, ack: 0, payload: ["type": "HANDSHAKE_RESP", "status": ["ok": "yes"]])
        let actions = h.machine.frameReceived(reply, now: h.now, jitter: 0)
        #expect(actions.failsStreams)
        #expect(actions.protocolErrors.count == 1)
    }

    @Test func metadataFailureIsAHandshakeFailure() throws {
        var h = MachineHarness()
        _ = h.machine.connect(now: h.now, jitter: 0)
        _ = h.machine.dialSucceeded(attempt: 1, now: h.now)
        let actions = h.machine.metadataReady(attempt: 1, result: .failure(MetadataError("no token")), now: h.now)
        #expect(actions.failsStreams)
        #expect(actions.protocolErrors.map(\.kind) == [.handshakeFailed(code: nil)])
    }

    @Test func handshakeTimeoutClosesAndRetries() throws {
        var h = MachineHarness()
        _ = h.machine.connect(now: h.now, jitter: 0)
        _ = h.machine.dialSucceeded(attempt: 1, now: h.now)
        _ = h.machine.metadataReady(attempt: 1, result: .success(nil), now: h.now)
        let actions = h.advance(.milliseconds(1000))
        #expect(actions.closesConnection)
        #expect(!actions.failsStreams)
        guard case .backingOff = h.machine.state else { Issue.record("expected a retry"); return }
    }

    @Test func connectionTimeoutAbandonsTheAttemptAndRetries() throws {
        var h = MachineHarness()
        _ = h.machine.connect(now: h.now, jitter: 0)
        let actions = h.advance(.milliseconds(2000))
        #expect(actions.contains(.abandonAttempt(attempt: 1)))
        guard case .backingOff = h.machine.state else { Issue.record("expected a retry"); return }
        // A late success of the abandoned attempt is refused.
        #expect(h.machine.dialSucceeded(attempt: 1, now: h.now) == [.abandonAttempt(attempt: 1)])
    }

    @Test func backoffScheduleFollowsTheReferenceAndTheBudgetRunsOut() throws {
        var h = MachineHarness()
        var delays: [Duration] = []
        var actions = h.machine.connect(now: h.now, jitter: 0)
        for _ in 0..<10 {
            let dial = actions.compactMap { if case .dial(let a) = $0 { a } else { nil } }.last
            guard let dial else { break }
            actions = h.machine.dialFailed(attempt: dial, reason: "refused", fatal: false, now: h.now, jitter: 0)
            if case .backingOff(_, let until) = h.machine.state {
                delays.append(until - h.now)
                h.now = until
                actions += h.machine.tick(now: h.now, jitter: 0)
            }
        }
        #expect(delays == [.milliseconds(150), .milliseconds(300), .milliseconds(600), .milliseconds(1200)])
        #expect(actions.protocolErrors.map(\.kind) == [.retriesExceeded])
    }

    @Test func anExhaustedBudgetRefillsSoALaterCallDialsAgain() throws {
        var h = MachineHarness()
        var actions = h.machine.connect(now: h.now, jitter: 0)
        while let dial = actions.compactMap({ if case .dial(let a) = $0 { a } else { nil } }).last {
            actions = h.machine.dialFailed(attempt: dial, reason: "refused", fatal: false, now: h.now, jitter: 0)
            actions += h.advanceToDial()
        }
        #expect(actions.protocolErrors.map(\.kind) == [.retriesExceeded])
        #expect(h.machine.connect(now: h.now, jitter: 0).protocolErrors.map(\.kind) == [.retriesExceeded])
        _ = h.advance(.milliseconds(200))
        let later = h.machine.connect(now: h.now, jitter: 0)
        #expect(later.protocolErrors.isEmpty)
        guard case .backingOff = h.machine.state else {
            Issue.record("expected a new attempt after the refill, got \(h.machine.state)")
            return
        }
    }

    @Test func jitterIsAddedUpToTheConfiguredMaximum() {
        var budget = RetryBudget()
        budget.consume()
        #expect(budget.backoff(jitterFraction: 0) == .milliseconds(150))
        #expect(budget.backoff(jitterFraction: 0.5) == .milliseconds(250))
        for _ in 0..<20 { budget.consume() }
        #expect(budget.backoff(jitterFraction: 0) == .seconds(32))
    }

    @Test func budgetRestoresOneUnitPerIntervalAfterAHandshake() {
        var budget = RetryBudget()
        let start = ContinuousClock.now
        for _ in 0..<5 { budget.consume() }
        #expect(!budget.hasBudget)
        budget.startRestoring(now: start)
        budget.advance(to: start + .milliseconds(199))
        #expect(budget.consumed == 5)
        budget.advance(to: start + .milliseconds(200))
        #expect(budget.consumed == 4)
        budget.advance(to: start + .milliseconds(1000))
        #expect(budget.consumed == 0)
        #expect(budget.nextRestore == nil)
    }

    @Test func rehandshakeRequestIsConsumedAndAnsweredSequenced() throws {
        var h = MachineHarness()
        try h.connect()
        let request = h.serverFrame(seq: 0, ack: 0, stream: "rehandshake", payload: ["type": "REHANDSHAKE_REQ"])
        let actions = h.machine.frameReceived(request, now: h.now, jitter: 0)
        #expect(actions.delivered.isEmpty)
        let id = try #require(h.machine.sessionID)
        #expect(actions == [.constructRehandshakeMetadata(sessionID: id)])
        let reply = h.machine.rehandshakeMetadataReady(sessionID: id, metadata: ["token": "new"], now: h.now, jitter: 0)
        let message = try #require(try h.decodedWrites(in: reply).first)
        #expect(message.streamId == "rehandshake")
        #expect(message.payload == ["type": "REHANDSHAKE_RESP", "metadata": ["token": "new"]])
        #expect(message.seq == 0 && message.ack == 1)
    }

    @Test func closeDestroysAndLaterSendsFail() throws {
        var h = MachineHarness()
        try h.connect()
        let actions = h.machine.close()
        #expect(actions.failure?.kind == .clientClosed)
        #expect(actions.closesConnection)
        #expect(throws: SessionStateMachine.SendError.closed) { try h.send() }
    }

    @Test func hardDisconnectDestroysButAllowsANewSession() throws {
        var h = MachineHarness()
        try h.connect()
        let old = h.machine.sessionID
        #expect(h.machine.hardDisconnect().failsStreams)
        let (seq, actions) = try h.send()
        #expect(seq == 0)
        #expect(h.machine.sessionID != old)
        _ = actions
    }

    @Test func disabledTransparentReconnectsDestroyOnDrop() throws {
        var h = MachineHarness { $0.enableTransparentReconnects = false }
        try h.connect()
        let actions = h.machine.connectionClosed(attempt: h.attempt, reason: "dropped", now: h.now, jitter: 0)
        #expect(actions.failsStreams)
    }

    @Test func bufferLimitsAndOversizedMessages() throws {
        var h = MachineHarness {
            $0.maxBufferedMessages = 2
            $0.maxMessageBytes = 200
        }
        try h.connect()
        _ = try h.send()
        #expect(h.machine.hasRoom(forBytes: 10))
        _ = try h.send()
        #expect(!h.machine.hasRoom(forBytes: 10))
        let big = RiverValue.string(String(repeating: "x", count: 500))
        #expect(throws: SessionStateMachine.SendError.self) { try h.send(payload: big) }
        #expect(h.machine.nextSeq == 2, "a refused message consumes no seq")
        _ = h.machine.frameReceived(h.serverFrame(seq: 0, ack: 2, payload: ["ok": true, "payload": [:]]), now: h.now, jitter: 0)
        #expect(h.machine.hasRoom(forBytes: 10))
    }

    @Test func anOversizedInboundMessageDestroysTheSession() throws {
        var h = MachineHarness()
        try h.connect()
        let actions = h.machine.inboundMessageTooLarge(attempt: h.attempt, reason: "closed locally with code 1009")
        #expect(actions.failsStreams)
        #expect(actions.protocolErrors.map(\.kind) == [.invalidMessage])
        #expect(h.machine.sessionID == nil)
    }

    @Test func textFrameClosesTheConnectionButKeepsTheSession() throws {
        var h = MachineHarness()
        try h.connect()
        let actions = h.machine.textFrameReceived(now: h.now, jitter: 0)
        #expect(actions.closesConnection)
        #expect(!actions.failsStreams)
        #expect(h.machine.sessionID != nil)
    }

    @Test func staleEventsOfOldAttemptsAreIgnored() throws {
        var h = MachineHarness()
        try h.connect()
        #expect(h.machine.connectionClosed(attempt: h.attempt + 7, reason: "old", now: h.now, jitter: 0).isEmpty)
        #expect(h.machine.isConnected)
    }
}

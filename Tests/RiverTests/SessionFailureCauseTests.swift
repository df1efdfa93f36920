@testable import River
import Testing

/// Every way the machine destroys a session names its cause, as data.
@Suite("Session failure causes")
struct SessionFailureCauseTests {
    /// A machine whose first attempt is dialing (socket not open yet).
    func dialing(_ configure: (inout SessionStateMachine.Configuration) -> Void = { _ in }) -> MachineHarness {
        var h = MachineHarness(configure)
        _ = h.machine.connect(now: h.now, jitter: 0)
        h.attempt = 1
        return h
    }

    /// A machine waiting for the handshake response of attempt 1.
    func handshaking() -> MachineHarness {
        var h = dialing()
        _ = h.machine.dialSucceeded(attempt: 1, now: h.now)
        _ = h.machine.metadataReady(attempt: 1, result: .success(nil), now: h.now)
        return h
    }

    @Test("connect failures are retried; the grace period's end reports the last connect error, never connected")
    func graceAfterConnectFailures() throws {
        var h = dialing()
        let refused = RiverFailureCause(connectFailure: RiverConnectError(.refused, "ECONNREFUSED"))
        var actions = h.machine.dialFailed(attempt: 1, cause: refused, fatal: false, now: h.now, jitter: 0)
        #expect(!actions.failsStreams)
        actions = h.advance(.seconds(5))
        let cause = try #require(actions.failure)
        #expect(cause.kind == .graceExpired)
        #expect(cause.root.kind == .connectRefused)
        #expect(cause.root.connectError?.kind == .refused)
        #expect(!cause.wasConnected)
        let error = RiverError.sessionFailure(cause, server: "SERVER")
        #expect(error.message.hasPrefix("could not connect to SERVER"))
        #expect(error.message.contains("ECONNREFUSED"))
        #expect((error.underlying as? RiverConnectError)?.kind == .refused)
    }

    @Test("an invalid URL is not retried: the session ends at once")
    func invalidURLIsPermanent() throws {
        var h = dialing()
        let invalid = RiverFailureCause(connectFailure: RiverConnectError(.invalidURL, "no scheme"))
        let actions = h.machine.dialFailed(attempt: 1, cause: invalid, fatal: false, now: h.now, jitter: 0)
        #expect(actions.failure?.kind == .invalidEndpoint)
        #expect(!actions.dials)
        #expect(h.machine.state == .noConnection)
    }

    @Test("a connect timeout and a handshake timeout are named")
    func timeouts() throws {
        var h = dialing()
        _ = h.advance(.seconds(2))
        #expect(h.machine.lastFailure?.kind == .connectTimeout)
        var shaking = handshaking()
        _ = shaking.advance(.seconds(1))
        #expect(shaking.machine.lastFailure?.kind == .handshakeTimeout)
        #expect(shaking.advance(.seconds(5)).failure?.root.kind == .handshakeTimeout)
    }

    @Test("a rejection keeps its wire code, also one this client does not know")
    func rejectionKeepsItsCode() throws {
        var h = handshaking()
        let unknown = HandshakeErrorCode(rawValue: "SOMETHING_NEW")
        let actions = h.machine.frameReceived(h.handshakeResponse(.error(code: unknown, reason: "go away")), now: h.now, jitter: 0)
        let cause = try #require(actions.failure)
        #expect(cause.kind == .handshakeRejected)
        #expect(cause.handshakeCode == unknown)
        #expect(cause.detail == "go away")
        #expect(RiverError.sessionFailure(cause, server: "SERVER").message.contains("SOMETHING_NEW"))
    }

    @Test("SESSION_STATE_MISMATCH and an ok for another session read as a restarted server")
    func serverRestarted() throws {
        var h = handshaking()
        let mismatch = h.machine.frameReceived(
            h.handshakeResponse(.error(code: .sessionStateMismatch, reason: "unknown session")), now: h.now, jitter: 0)
        #expect(mismatch.failure?.kind == .serverRestarted)
        #expect(mismatch.failure?.handshakeCode == .sessionStateMismatch)
        var other = handshaking()
        let wrongSession = other.machine.frameReceived(other.handshakeResponse(.ok(sessionId: "other")), now: other.now, jitter: 0)
        #expect(wrongSession.failure?.kind == .serverRestarted)
    }

    @Test("a handshake reply or a message from another server id is a wrong server")
    func wrongServer() throws {
        var h = handshaking()
        let response = h.serverFrame(
            seq: 0, ack: 0, stream: "hs", payload: ControlPayload.handshakeResponse(.ok(sessionId: h.machine.sessionID ?? "")).value,
            from: "OTHER")
        #expect(h.machine.frameReceived(response, now: h.now, jitter: 0).failure?.kind == .wrongServer)
        var connected = MachineHarness()
        try connected.connect()
        let foreign = connected.serverFrame(seq: 0, ack: 0, payload: ["ok": true], from: "MALLORY")
        let actions = connected.machine.frameReceived(foreign, now: connected.now, jitter: 0)
        #expect(actions.failure?.kind == .wrongServer)
        #expect(actions.failure?.wasConnected == true)
    }

    @Test("an undecodable frame is a protocol violation; a frame in the other codec a codec mismatch")
    func protocolViolationAndCodecMismatch() throws {
        var h = MachineHarness()
        try h.connect()
        #expect(h.machine.frameReceived([0xC1], now: h.now, jitter: 0).failure?.kind == .protocolViolation)
        var shaking = handshaking()
        #expect(shaking.machine.codecMismatch(attempt: 1, detail: "msgpack").failure?.kind == .codecMismatch)
        #expect(ClientTransport.foreignCodec(of: [0x81, 0xA1], expected: JSONCodec()) != nil)
        #expect(ClientTransport.foreignCodec(of: Array("{}".utf8), expected: MessagePackCodec()) != nil)
        #expect(ClientTransport.foreignCodec(of: Array("{}".utf8), expected: JSONCodec()) == nil)
    }

    @Test("a frame over the size limit is named")
    func frameTooLarge() throws {
        var h = MachineHarness()
        try h.connect()
        let actions = h.machine.inboundMessageTooLarge(attempt: h.attempt, reason: "1009")
        #expect(actions.failure?.kind == .frameTooLarge)
    }

    @Test("the reconnect after an out-of-order message backs off with jitter")
    func outOfOrderBackoffHasJitter() throws {
        var h = MachineHarness()
        try h.connect()
        let future = h.serverFrame(seq: 5, ack: 0, payload: ["ok": true])
        _ = h.machine.frameReceived(future, now: h.now, jitter: 0.5)
        guard case .backingOff(_, let until) = h.machine.state else {
            Issue.record("expected a backoff, got \(h.machine.state)")
            return
        }
        // One attempt consumed: the base interval (150 ms) plus half of the 200 ms jitter.
        #expect(until - h.now == .milliseconds(250))
        #expect(h.machine.lastFailure?.kind == .protocolViolation)
    }

    @Test("a server code spelled like a local one is not the local code")
    func wireCodesCannotPoseAsLocal() {
        let fromServer = RiverError.Code(rawValue: "DEADLINE_EXCEEDED")
        #expect(fromServer != .deadlineExceeded)
        #expect(!fromServer.isLocal)
        #expect(RiverError.Code.deadlineExceeded.isLocal)
        #expect(RiverError.Code(rawValue: "CANCEL") == .cancel)
    }
}

import River
import RiverTesting
import RiverTestServer
import Testing

@Suite("Server handshake")
struct ServerHandshakeTests {
    @Test(arguments: ServerTestCodec.allCases)
    func acceptsNewSession(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { server, harness in
            let client = try await harness.connect()
            let sessionID = RiverID.generateSessionID()
            let status = try await client.handshake(sessionID: sessionID)
            #expect(status == .ok(sessionId: sessionID))
            try await waitUntil("the session exists") { server.sessionCount == 1 }
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func rejectsOtherProtocolVersion(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { _, harness in
            let client = try await harness.connect()
            let status = try await client.handshake(sessionID: RiverID.generateSessionID(), protocolVersion: "v0.9")
            #expect(status == .error(code: .protocolVersionMismatch, reason: "expected protocol version oneof [v2.0], got v0.9"))
            let closure = try await client.expectClosed()
            #expect(closure.code == 1000)
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func rejectsUnknownSessionClaimingSeqs(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { server, harness in
            let client = try await harness.connect()
            let sessionID = RiverID.generateSessionID()
            let status = try await client.handshake(sessionID: sessionID, nextExpectedSeq: 2, nextSentSeq: 3)
            #expect(
                status == .error(
                    code: .sessionStateMismatch,
                    reason: "client is trying to reconnect to a session the server don't know about: \(sessionID)"))
            _ = try await client.expectClosed()
            #expect(server.sessionCount == 0)
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func rejectsNonHandshakeFirstMessage(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { _, harness in
            let client = try await harness.connect()
            try client.open("test", "add", initPayload: ["n": 1], closed: true)
            guard case .handshakeResponse(let status)? = try ControlPayload.parse(try await client.nextRawMessage().payload) else {
                Issue.record("expected a handshake response")
                return
            }
            #expect(status == .error(code: .malformedHandshake, reason: "received invalid handshake request"))
            _ = try await client.expectClosed()
        }
    }

    @Test func closesSilentConnectionAfterHandshakeTimeout() async throws {
        let timings = RiverTestServer.Timings(heartbeatInterval: .seconds(30), handshakeTimeout: .milliseconds(50))
        try await withTestServer(.json, timings: timings) { _, harness in
            let client = try await harness.connect()
            let closure = try await client.expectClosed()
            #expect(closure.code == 1000)
        }
    }

    @Test func textFrameGetsNoAnswer() async throws {
        try await withTestServer(.json) { _, harness in
            let client = try await harness.connect()
            client.connection.sendText(Array("{}".utf8))
            let closure = try await client.expectClosed()
            #expect(closure.code == 1000)
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func handshakeModeAcceptsValidToken(codec: ServerTestCodec) async throws {
        try await withTestServer(codec, mode: .handshake) { server, harness in
            #expect(server.serverID == "HANDSHAKE_SERVER")
            let (client, _) = try await connectedClient(harness, metadata: ["token": "valid-token"])
            let stream = try client.open("test", "echo", initPayload: ["msg": "hi"], closed: true)
            let response = try await client.nextMessage()
            #expect(response.streamId == stream)
            #expect(response.controlFlags == .streamClosed)
            #expect(response.payload == ok(["response": "hi"]))
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func handshakeModeRejectsInvalidToken(codec: ServerTestCodec) async throws {
        try await withTestServer(codec, mode: .handshake) { server, harness in
            let client = try await harness.connect()
            let status = try await client.handshake(sessionID: RiverID.generateSessionID(), metadata: ["token": "bad-token"])
            #expect(status == .error(code: .rejectedByCustomHandler, reason: "rejected by handshake handler"))
            let closure = try await client.expectClosed()
            #expect(closure.code == 1000)
            #expect(server.sessionCount == 0)
        }
    }

    @Test(arguments: [nil, "not-an-object", ["token": 42], ["other": "valid-token"]] as [RiverValue?])
    func handshakeModeRejectsMalformedMetadata(metadata: RiverValue?) async throws {
        try await withTestServer(.json, mode: .handshake) { _, harness in
            let client = try await harness.connect()
            let status = try await client.handshake(sessionID: RiverID.generateSessionID(), metadata: metadata)
            #expect(status == .error(code: .malformedHandshakeMeta, reason: "received malformed handshake metadata"))
            _ = try await client.expectClosed()
        }
    }

    @Test func standardModeIgnoresMetadata() async throws {
        try await withTestServer(.json) { _, harness in
            _ = try await connectedClient(harness, metadata: ["token": "anything"])
        }
    }
}

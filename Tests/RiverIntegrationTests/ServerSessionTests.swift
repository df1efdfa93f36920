import River
import RiverTesting
import RiverTestServer
import Testing

@Suite("Server sessions")
struct ServerSessionTests {
    @Test(arguments: ServerTestCodec.allCases)
    func heartbeatsEveryIntervalAndNoEcho(codec: ServerTestCodec) async throws {
        // A watchdog of 30 s (600 intervals): on a loaded machine the test client's answers
        // can be seconds late, and this test is about heartbeats, not the watchdog.
        let timings = RiverTestServer.Timings(heartbeatInterval: .milliseconds(50), heartbeatsUntilDead: 600)
        try await withTestServer(codec, timings: timings) { _, harness in
            let (client, _) = try await connectedClient(harness)
            let clock = ContinuousClock()
            let start = clock.now
            for expectedSeq in 0..<3 {
                let heartbeat = try await client.nextMessage(includeHeartbeats: true)
                #expect(heartbeat.streamId == "heartbeat")
                #expect(heartbeat.controlFlags == .ack)
                #expect(heartbeat.payload == ["type": "ACK"])
                #expect(heartbeat.seq == expectedSeq)
                // Answer like the reference client; the server must not answer back.
                try client.send(stream: "heartbeat", flags: .ack, payload: ["type": "ACK"])
            }
            #expect(clock.now - start >= .milliseconds(140))
            // The server consumes the client's heartbeats (its ack advances) and never answers
            // them: everything it sends is its own heartbeat.
            while true {
                let next = try await client.nextMessage(includeHeartbeats: true)
                #expect(next.streamId == "heartbeat" && next.controlFlags == .ack)
                if next.ack == 3 { break }
            }
        }
    }

    @Test func watchdogClosesSilentConnectionButKeepsSession() async throws {
        let timings = RiverTestServer.Timings(
            heartbeatInterval: .milliseconds(30), heartbeatsUntilDead: 2, sessionDisconnectGrace: .seconds(30))
        try await withTestServer(.json, timings: timings) { server, harness in
            let (client, sessionID) = try await connectedClient(harness)
            let closure = try await client.expectClosed()
            #expect(closure.code == 1000)
            #expect(server.sessionCount == 1)

            // The session survives: resume it. The client never acked the heartbeats it got.
            let again = try await harness.connect(clientID: client.clientID)
            let status = try await again.handshake(sessionID: sessionID, nextExpectedSeq: 0, nextSentSeq: 0)
            #expect(status == .ok(sessionId: sessionID))
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func resumeReplaysUnackedMessagesByteIdentically(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { server, harness in
            let (client, sessionID) = try await connectedClient(harness)
            let stream = try client.open("test", "echo", closed: false)
            try client.send(stream: stream, payload: ["msg": "a"])
            let firstBytes = try await client.nextFrame()
            let echoA = try client.codec.decode(firstBytes)
            #expect(echoA.seq == 0 && echoA.ack == 2 && echoA.payload == ok(["response": "a"]))

            client.connection.drop()
            try await waitUntil("the server saw the drop") { server.connectionCount == 0 }
            #expect(server.sessionCount == 1)

            // Same client, same session, state {nextExpectedSeq: 1, nextSentSeq: 2}.
            let resumed = try await harness.connect(clientID: client.clientID)
            resumed.setCounters(seq: 2, ack: 1)
            let status = try await resumed.handshake(sessionID: sessionID, nextExpectedSeq: 1, nextSentSeq: 2)
            #expect(status == .ok(sessionId: sessionID))
            let replayed = try await resumed.nextFrame()
            #expect(replayed == firstBytes, "the unacked echo is replayed byte-identically")

            try resumed.send(stream: stream, payload: ["msg": "b"])
            let echoB = try await resumed.nextMessage()
            #expect(echoB.seq == 1 && echoB.ack == 3 && echoB.payload == ok(["response": "b"]))
            try resumed.close(stream: stream)
            let close = try await resumed.nextMessage()
            #expect(close.payload == ["type": "CLOSE"] && close.seq == 2)
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func resumeRejectsStateFromTheFuture(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { server, harness in
            let (client, sessionID) = try await connectedClient(harness)
            try client.open("test", "add", initPayload: ["n": 1], closed: true)
            _ = try await client.nextMessage()
            client.connection.drop()
            try await waitUntil("the server saw the drop") { server.connectionCount == 0 }

            let ahead = try await harness.connect(clientID: client.clientID)
            let status = try await ahead.handshake(sessionID: sessionID, nextExpectedSeq: 1, nextSentSeq: 5)
            #expect(
                status == .error(
                    code: .sessionStateMismatch,
                    reason: "client is in the future: server wanted next message to be 1 but client would have sent 5"))
            _ = try await ahead.expectClosed()

            let behind = try await harness.connect(clientID: client.clientID)
            let second = try await behind.handshake(sessionID: sessionID, nextExpectedSeq: -1, nextSentSeq: 1)
            #expect(
                second == .error(
                    code: .sessionStateMismatch,
                    reason: "server is in the future: client wanted next message to be -1 but server would have sent 0"))
        }
    }

    @Test func graceExpiryDestroysSession() async throws {
        let timings = RiverTestServer.Timings(heartbeatInterval: .seconds(30), sessionDisconnectGrace: .milliseconds(100))
        try await withTestServer(.json, timings: timings) { server, harness in
            let (client, sessionID) = try await connectedClient(harness)
            let subscription = try client.open("subscribable", "value", closed: true)
            _ = try await client.nextMessage()
            #expect(server.openStreamCount == 1)
            client.connection.drop()
            try await waitUntil("the grace period destroyed the session") { server.sessionCount == 0 }
            #expect(server.openStreamCount == 0, "the session's handlers were cancelled")
            _ = subscription

            let late = try await harness.connect(clientID: client.clientID)
            let status = try await late.handshake(sessionID: sessionID, nextExpectedSeq: 1, nextSentSeq: 1)
            #expect(
                status == .error(
                    code: .sessionStateMismatch,
                    reason: "client is trying to reconnect to a session the server don't know about: \(sessionID)"))
        }
    }

    @Test func duplicatesAreDroppedAndGapsCloseTheConnection() async throws {
        try await withTestServer(.json) { server, harness in
            let (client, _) = try await connectedClient(harness)
            let first = try client.open("test", "add", initPayload: ["n": 1], closed: true)
            #expect(try await client.nextMessage().streamId == first)
            // Resend seq 0: a duplicate, dropped silently (no second answer).
            try client.sendRaw(
                TransportMessage(
                    id: RiverID.generate(), from: client.clientID, to: "SERVER", seq: 0, ack: 0, streamId: first,
                    controlFlags: [.streamOpen, .streamClosed], payload: ["n": 1], serviceName: "test", procedureName: "add",
                    tracing: .empty))
            let probe = try client.open("cancel", "immediateRpc", closed: true)
            #expect(try await client.nextMessage().streamId == probe)

            // Skip a seq: the server closes the connection and keeps the session.
            try client.sendRaw(
                TransportMessage(
                    id: RiverID.generate(), from: client.clientID, to: "SERVER", seq: client.seq + 1, ack: client.ack,
                    streamId: RiverID.generate(), controlFlags: [.streamOpen, .streamClosed], payload: [:],
                    serviceName: "cancel", procedureName: "immediateRpc", tracing: .empty))
            _ = try await client.expectClosed()
            #expect(server.sessionCount == 1)
        }
    }

    @Test func messageFromAnotherPeerDestroysSession() async throws {
        try await withTestServer(.json) { server, harness in
            let (client, _) = try await connectedClient(harness)
            try client.sendRaw(
                TransportMessage(
                    id: RiverID.generate(), from: "someone-else", to: "SERVER", seq: 0, ack: 0, streamId: RiverID.generate(),
                    controlFlags: [.streamOpen, .streamClosed], payload: [:], serviceName: "cancel", procedureName: "immediateRpc",
                    tracing: .empty))
            _ = try await client.expectClosed()
            try await waitUntil("the session is gone") { server.sessionCount == 0 }
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func undecodableFrameDestroysSession(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { server, harness in
            let (client, _) = try await connectedClient(harness)
            client.connection.send([0xc1, 0xff, 0x00, 0x7b])
            _ = try await client.expectClosed()
            try await waitUntil("the session is gone") { server.sessionCount == 0 }

            // Garbage as the first frame: closed without an answer.
            let other = try await harness.connect()
            other.connection.send(Array("not a river message".utf8))
            let event = try await other.nextEvent()
            guard case .closed = event else {
                Issue.record("expected a close, got \(event)")
                return
            }
        }
    }

    @Test func newSessionIdReplacesTheOldSession() async throws {
        try await withTestServer(.json) { server, harness in
            let (client, _) = try await connectedClient(harness)
            try client.open("cancel", "blockingSubscription", closed: true)
            try await waitUntil("the subscription is open") { server.openStreamCount == 1 }
            let replacement = try await harness.connect(clientID: client.clientID)
            let newSession = RiverID.generateSessionID()
            #expect(try await replacement.handshake(sessionID: newSession) == .ok(sessionId: newSession))
            _ = try await client.expectClosed()
            #expect(server.sessionCount == 1)
            #expect(server.openStreamCount == 0)
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func rehandshakeWithValidMetadataKeepsSession(codec: ServerTestCodec) async throws {
        try await withTestServer(codec, mode: .handshake) { server, harness in
            let (client, _) = try await connectedClient(harness, metadata: ["token": "valid-token"])
            #expect(server.requestRehandshake() == 1)
            let request = try await client.nextMessage()
            #expect(request.streamId == "rehandshake" && request.controlFlags == [] && request.payload == ["type": "REHANDSHAKE_REQ"])
            try client.send(stream: "rehandshake", payload: ["type": "REHANDSHAKE_RESP", "metadata": ["token": "valid-token"]])
            let stream = try client.open("test", "echo", initPayload: ["msg": "still here"], closed: true)
            let response = try await client.nextMessage()
            #expect(response.streamId == stream && response.payload == ok(["response": "still here"]))
            #expect(server.sessionCount == 1)
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func rehandshakeWithInvalidMetadataDropsSession(codec: ServerTestCodec) async throws {
        try await withTestServer(codec, mode: .handshake) { server, harness in
            let (client, _) = try await connectedClient(harness, metadata: ["token": "valid-token"])
            server.requestRehandshake()
            _ = try await client.nextMessage()
            try client.send(stream: "rehandshake", payload: ["type": "REHANDSHAKE_RESP", "metadata": ["token": "expired"]])
            _ = try await client.expectClosed()
            try await waitUntil("the session is gone") { server.sessionCount == 0 }
        }
    }

    @Test func unansweredRehandshakeDropsSession() async throws {
        let timings = RiverTestServer.Timings(heartbeatInterval: .seconds(30), handshakeTimeout: .milliseconds(50))
        try await withTestServer(.json, timings: timings) { server, harness in
            let (client, _) = try await connectedClient(harness)
            server.requestRehandshake()
            _ = try await client.nextMessage()
            _ = try await client.expectClosed()
            try await waitUntil("the session is gone") { server.sessionCount == 0 }
        }
    }
}

import River
import RiverTestServer
import Testing

@Suite("Server fault injection")
struct ServerFaultTests {
    @Test func dropCutsConnectionsAndKeepsSessions() async throws {
        try await withTestServer(.json) { server, harness in
            let (client, _) = try await connectedClient(harness)
            #expect(server.execute(command: "drop") == "ok dropped 1")
            let closure = try await client.expectClosed()
            #expect(closure.code == nil)
            #expect(server.sessionCount == 1)
        }
    }

    @Test func restartForgetsSessionsAndServiceState() async throws {
        try await withTestServer(.json) { server, harness in
            let (client, sessionID) = try await connectedClient(harness)
            try client.open("test", "add", initPayload: ["n": 5], closed: true)
            #expect(try await client.nextMessage().payload == ok(["result": 5]))
            #expect(server.execute(command: "restart") == "ok restarted")
            _ = try await client.expectClosed()
            #expect(server.sessionCount == 0)

            let resumed = try await harness.connect(clientID: client.clientID)
            let status = try await resumed.handshake(sessionID: sessionID, nextExpectedSeq: 1, nextSentSeq: 1)
            #expect(status == .error(code: .sessionStateMismatch, reason: "client is trying to reconnect to a session the server don't know about: \(sessionID)"))

            let (fresh, _) = try await connectedClient(harness)
            try fresh.open("test", "add", initPayload: ["n": 2], closed: true)
            #expect(try await fresh.nextMessage().payload == ok(["result": 2]), "the running total restarted at zero")
        }
    }

    @Test func blackholeStopsReadingAndWriting() async throws {
        try await withTestServer(.json) { server, harness in
            let (client, _) = try await connectedClient(harness)
            #expect(server.execute(command: "blackhole") == "ok blackholed")
            try client.open("test", "add", initPayload: ["n": 1], closed: true)  // lost
            try await waitUntil("the server discarded the frame") { server.discardedInboundFrameCount == 1 }
            #expect(server.execute(command: "unblackhole") == "ok unblackholed")
            // The next message has a seq gap: the server closes the connection so the client
            // reconnects and retransmits (as after a real blackhole).
            try client.open("cancel", "immediateRpc", closed: true)
            _ = try await client.expectClosed()
            #expect(server.sessionCount == 1)
        }
    }

    @Test func heartbeatsCanBeSwitchedOff() async throws {
        let timings = RiverTestServer.Timings(heartbeatInterval: .milliseconds(20), heartbeatsUntilDead: 1000)
        try await withTestServer(.json, timings: timings) { server, harness in
            let (client, _) = try await connectedClient(harness)
            _ = try await client.nextMessage(includeHeartbeats: true)
            #expect(server.execute(command: "heartbeats off") == "ok heartbeats off")
            // Heartbeats sent before the switch may still be in flight; they all arrive before
            // the answer to a probe sent after it. After that answer, nothing but answers.
            let probe = try client.open("cancel", "immediateRpc", closed: true)
            while try await client.nextMessage(includeHeartbeats: true).streamId != probe {}
            let second = try client.open("cancel", "immediateRpc", closed: true)
            #expect(try await client.nextMessage(includeHeartbeats: true).streamId == second)
            #expect(server.execute(command: "heartbeats on") == "ok heartbeats on")
            #expect(try await client.nextMessage(includeHeartbeats: true).streamId == "heartbeat")
        }
    }

    @Test func delayHoldsOutgoingFrames() async throws {
        try await withTestServer(.json) { server, harness in
            let (client, _) = try await connectedClient(harness)
            #expect(server.execute(command: "delay 150") == "ok delay 150")
            let clock = ContinuousClock()
            let start = clock.now
            try client.open("cancel", "immediateRpc", closed: true)
            _ = try await client.nextMessage()
            #expect(clock.now - start >= .milliseconds(150))
            server.setOutgoingDelay(nil)
        }
    }

    @Test func rejectsUnknownCommands() {
        let server = RiverTestServer(configuration: .init(codec: JSONCodec()))
        #expect(server.execute(command: "explode").hasPrefix("error:"))
        #expect(server.execute(command: "delay soon").hasPrefix("error:"))
        #expect(server.execute(command: "rehandshake") == "ok rehandshake 0")
    }
}

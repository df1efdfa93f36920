import River
import RiverReferenceClient
import RiverTestServer
import RiverWebSocket
import Testing

/// The transport's timer on the real clock: its wake-ups come from the process's timer thread,
/// which re-arms a watchdog that traffic pushed back instead of waking the timer task.
@Suite("Real-clock timer", .timeLimit(.minutes(1)))
struct RealClockTimerTests {
    /// Heartbeats every 40 ms push the client's 200 ms watchdog back again and again (each
    /// wake-up finds the deadline moved and re-arms); once the server falls silent, the
    /// watchdog must still fire and close the connection.
    @Test("a watchdog that heartbeats pushed back many times still fires once the server falls silent")
    func watchdogFiresAfterManyPushBacks() async throws {
        let timings = RiverTestServer.Timings(
            heartbeatInterval: .milliseconds(40), heartbeatsUntilDead: 500,
            sessionDisconnectGrace: .seconds(60), handshakeTimeout: .seconds(30))
        let serverConfiguration = RiverTestServer.Configuration(codec: JSONCodec(), timings: timings)
        try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { server, port in
            var configuration = RiverClient.Configuration(serverID: serverConfiguration.serverID, codec: JSONCodec(), randomSeed: 7)
            configuration.makePatient()
            configuration.session.heartbeatInterval = .milliseconds(40)
            configuration.session.heartbeatsUntilDead = 5
            try await withRiverClient(url: "ws://127.0.0.1:\(port)", configuration: configuration) { client in
                let events = client.events()
                _ = try await client.rpc(Reference.add, NumberInit(n: 1)).get()
                // Every answered heartbeat takes a seq and moved the watchdog deadline later.
                let first = try #require(client.transport.nextSeq)
                try await waitUntil("25 heartbeats were answered", within: .seconds(30)) {
                    (client.transport.nextSeq ?? 0) >= first + 25
                }
                server.setHeartbeatsEnabled(false)
                _ = try await waitForEvent(events, timeout: .seconds(30)) {
                    if case .connectionStatus(.disconnected(let reason)) = $0 { reason.hasPrefix("heartbeatTimeout") } else { false }
                }
                client.close()
            }
        }
    }
}

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
    /// wake-up finds the deadline moved and re-arms without waking the timer task); once the
    /// server falls silent, the watchdog must still fire and close the connection.
    @Test("a watchdog that heartbeats pushed back many times still fires once the server falls silent")
    func watchdogFiresAfterManyPushBacks() async throws {
        try await withFastHeartbeats(seed: 7, clientHeartbeatsUntilDead: 5) { server, client in
            let events = client.events()
            // Every answered heartbeat takes a seq and moved the watchdog deadline later.
            let first = try #require(client.transport.nextSeq)
            try await waitUntil("25 heartbeats were answered", within: .seconds(30)) {
                (client.transport.nextSeq ?? 0) >= first + 25
            }
            // The timer found its watchdog pushed back and slept on without waking its task.
            #expect(client.transport.timerRearmsWithoutWaking > 0)
            server.setHeartbeatsEnabled(false)
            _ = try await waitForEvent(events, timeout: .seconds(30)) {
                if case .connectionStatus(.disconnected(let reason)) = $0 { reason.hasPrefix("heartbeatTimeout") } else { false }
            }
            client.close()
        }
    }
}

/// The timer thread reaches the transport through a strong link that only lasts while the
/// transport runs (not a weak reference: that would slow every retain of the transport), so a
/// wake-up still armed when the client's scope ends must not keep the transport alive.
@Suite("Real-clock timer link", .timeLimit(.minutes(1)))
struct RealClockTimerLinkTests {
    @Test("a client's transport is freed once its scope ends, though a watchdog wake-up was still armed")
    func transportFreedWithWakeupArmed() async throws {
        weak var transport: ClientTransport?
        try await withFastHeartbeats(seed: 9, clientHeartbeatsUntilDead: 2_000) { _, client in
            transport = client.transport
            // A wake-up 80 s away is armed on the timer thread (the watchdog, pushed back by
            // every heartbeat), and it outlives this scope.
            try await waitUntil("the watchdog wake-up is armed", within: .seconds(30)) {
                client.transport.timerIsAsleep
            }
        }
        try await waitUntil("the transport is freed", within: .seconds(20)) { transport == nil }
    }
}

/// A live test server heartbeating every 40 ms (and patient otherwise), and a client of it with
/// the same heartbeat interval, after one rpc (the session is up).
private func withFastHeartbeats(
    seed: UInt64, clientHeartbeatsUntilDead: Int? = nil,
    _ body: (RiverTestServer, RiverClient) async throws -> Void
) async throws {
    let timings = RiverTestServer.Timings(
        heartbeatInterval: .milliseconds(40), heartbeatsUntilDead: 500,
        sessionDisconnectGrace: .seconds(60), handshakeTimeout: .seconds(30))
    let serverConfiguration = RiverTestServer.Configuration(codec: JSONCodec(), timings: timings)
    try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { server, port in
        var configuration = RiverClient.Configuration(serverID: serverConfiguration.serverID, codec: JSONCodec(), randomSeed: seed)
        configuration.makePatient()
        if let clientHeartbeatsUntilDead {
            configuration.session.heartbeatInterval = .milliseconds(40)
            configuration.session.heartbeatsUntilDead = clientHeartbeatsUntilDead
        }
        try await withRiverClient(url: "ws://127.0.0.1:\(port)", configuration: configuration) { client in
            _ = try await client.rpc(Reference.add, NumberInit(n: 1)).get()
            try await body(server, client)
        }
    }
}

/// An idle session's heartbeats take the I/O thread's cheap paths: the echo is written at the
/// end of the receive callback, and the thread sleeps in epoll and hands lws the ready socket.
@Suite("Idle I/O paths", .timeLimit(.minutes(1)))
struct IdleIOPathTests {
    @Test("heartbeat echoes are written from the receive callback, and their sockets are served from the epoll wait")
    func heartbeatsTakeTheCheapPaths() async throws {
        try await withFastHeartbeats(seed: 8) { _, client in
            let writes = LWSServiceStatistics.writesAfterReceive
            let served = LWSServiceStatistics.socketsServedFromEpoll
            // Heartbeats every 40 ms keep both growing. (Suites running in parallel add to
            // the counts too, and one holding a TLS listener or a paused connection sends the
            // thread to lws' poll for a while, hence a wait rather than a fixed count.)
            try await waitUntil("echoes written from the receive callback and sockets served from epoll", within: .seconds(30)) {
                LWSServiceStatistics.writesAfterReceive > writes + 10
                    && LWSServiceStatistics.socketsServedFromEpoll > served + 10
            }
            client.close()
        }
    }
}

import River
import RiverTesting
import RiverTestServer
import Synchronization
import Testing

/// Timing behaviour on a manual clock: nothing here waits for real time to pass, so these
/// hold on a loaded machine.
@Suite("Manual clock", .timeLimit(.minutes(1)))
struct ManualClockTests {
    func configuration(_ clock: ManualRiverClock) -> RiverClient.Configuration {
        var configuration = RiverClient.Configuration(codec: JSONCodec(), randomSeed: 5)
        configuration.clock = clock
        return configuration
    }

    @Test("the heartbeat watchdog closes a silent connection after two intervals of clock time")
    func watchdog() async throws {
        let clock = ManualRiverClock()
        let server = RiverTestServer(configuration: .init(codec: JSONCodec()))
        try await server.withInMemoryConnector { connector in
            try await withRiverClient(connector: connector, configuration: configuration(clock)) { client in
                _ = try await client.rpc(Reference.add, NumberInit(n: 1))
                let events = client.events()
                server.setBlackholed(true)
                clock.advance(by: .milliseconds(1999))
                clock.advance(by: .milliseconds(1))
                let lost = try await waitForEvent(events) {
                    if case .connectionStatus(.disconnected(let reason)) = $0 { reason.hasPrefix("heartbeatTimeout") } else { false }
                }
                #expect(lost != .connectionStatus(.connecting(attempt: 0)))
            }
        }
    }

    @Test("refused connects end the call when the grace period passes, reporting the connect error")
    func graceAfterRefusedConnects() async throws {
        let clock = ManualRiverClock()
        let connector = FailingConnector(RiverConnectError(.refused, "ECONNREFUSED"))
        try await withRiverClient(connector: connector, configuration: configuration(clock)) { client in
            async let outcome: RiverError? = {
                do {
                    _ = try await client.rpc(Reference.add, NumberInit(n: 1))
                    return nil
                } catch { return error as? RiverError }
            }()
            try await waitUntil("the first attempt to fail") { connector.attempts.load(ordering: .relaxed) == 1 }
            try await waitUntil("the backoff timer to be armed") { clock.scheduledCount >= 1 }
            clock.advance(by: .seconds(5))
            let error = await outcome
            #expect(error?.cause?.kind == .graceExpired)
            #expect(error?.cause?.root.kind == .connectRefused)
        }
    }

    /// The timer of an idle client sleeps without a deadline; a call's connection attempt
    /// then sets deadlines (the connect timeout, then the earlier handshake timeout) that must
    /// wake it. Each attempt's handshake gets no answer and times out after exactly the
    /// handshake timeout of clock time; the client backs off and dials again.
    @Test("a deadline set while the timer sleeps wakes it: each unanswered handshake times out after its timeout of clock time")
    func aDeadlineSetWhileTheTimerSleepsStillFires() async throws {
        let clock = ManualRiverClock()
        let (accepted, acceptor) = AsyncStream.makeStream(of: InMemoryConnection.self)
        let connector = InMemoryConnector { server in acceptor.yield(server) }
        var configuration = configuration(clock)
        configuration.session.connectionTimeout = .seconds(30)
        configuration.session.handshakeTimeout = .seconds(1)
        configuration.session.sessionDisconnectGrace = .seconds(60)
        let finalConfiguration = configuration
        try await withRiverClient(connector: connector, configuration: finalConfiguration) { client in
            let events = client.events()
            try await waitUntil("the idle client's timer to sleep") { client.transport.timerIsAsleep }
            #expect(clock.scheduledCount == 0, "an idle client arms no deadline")
            async let call: Void = { _ = try? await client.rpc(Reference.add, NumberInit(n: 1)) }()
            // Accepted, never answered (kept alive: a released end drops its peer).
            var servers: [InMemoryConnection] = []
            var connections = accepted.makeAsyncIterator()
            for _ in 1...3 {
                let server = try #require(await connections.next())
                servers.append(server)
                // The handshake request arrived, so its deadline is set: one timeout of clock time away.
                var received = server.events.makeAsyncIterator()
                guard case .message = await received.next() else {
                    Issue.record("the connection closed before the handshake request arrived")
                    break
                }
                clock.advance(by: .seconds(1))
                _ = try await waitForEvent(events) {
                    if case .connectionStatus(.disconnected(let reason)) = $0 { reason.hasPrefix("handshakeTimeout") } else { false }
                }
                // Past the backoff: the next attempt dials.
                clock.advance(by: .seconds(5))
            }
            #expect(servers.count == 3)
            client.close()
            await call
        }
    }

    @Test("a call's deadline is clock time")
    func callDeadline() async throws {
        let clock = ManualRiverClock()
        let server = RiverTestServer(configuration: .init(codec: JSONCodec()))
        try await server.withInMemoryConnector { connector in
            try await withRiverClient(connector: connector, configuration: configuration(clock)) { client in
                async let outcome: RiverError? = {
                    do {
                        _ = try await client.rpc(Reference.blockingRpc, Empty(), options: CallOptions(timeout: .seconds(30)))
                        return nil
                    } catch { return error as? RiverError }
                }()
                try await waitUntil("the call to reach the server") { server.openStreamCount == 1 }
                #expect(clock.sleeperCount == 1)
                clock.advance(by: .seconds(30))
                #expect(await outcome?.code == .deadlineExceeded)
                try await waitUntil("the server to see the cancel") { server.openStreamCount == 0 }
            }
        }
    }
}

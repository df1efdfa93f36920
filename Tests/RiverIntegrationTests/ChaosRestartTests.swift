import River
import RiverTestServer
import Synchronization
import Testing

/// A server restart under load: every kind of in-flight call ends with UNEXPECTED_DISCONNECT
/// caused by the restart (the server's refusal of the old session, not a grace period or a
/// watchdog running out), none hangs, and new calls then succeed on a new session.
@Suite("Chaos: server restart under load", .serialized, .timeLimit(.minutes(2)))
struct ChaosRestartTests {
    /// The grace period and heartbeat of both sides.
    static let grace: Duration = .seconds(30)
    static let heartbeat: Duration = .milliseconds(200)

    /// Fast heartbeats and reconnects, but watchdogs (10 s), connect and handshake timeouts (10 s) and a
    /// grace period that a parallel `swift test` on a loaded machine cannot exhaust by delay
    /// alone: only the restart may end the session (it closes the connections; no watchdog is
    /// needed to notice).
    static let serverTimings = RiverTestServer.Timings(
        heartbeatInterval: heartbeat, heartbeatsUntilDead: 50, sessionDisconnectGrace: grace, handshakeTimeout: .seconds(10))
    static func configureClient(_ configuration: inout RiverClient.Configuration) {
        fastClient(&configuration)
        configuration.session.heartbeatsUntilDead = 50
        configuration.session.connectionTimeout = .seconds(10)
        configuration.session.handshakeTimeout = .seconds(10)
        configuration.session.sessionDisconnectGrace = grace
    }

    @Test(arguments: ClientSetup.all)
    func everyInFlightCallFailsPromptlyAndANewSessionWorks(setup: ClientSetup) async throws {
        try await withClient(setup, timings: Self.serverTimings, configure: Self.configureClient) { client, server in
            let events = client.events()
            _ = try await client.rpc(Reference.add, NumberInit(n: 5)).get()
            let oldSession = client.transport.sessionID
            let recorder = OutcomeRecorder()
            let record = recorder.record
            // Each upload waits on its gate, then writes once more: that write must fail.
            let gates = (0..<5).map { _ in AsyncStream.makeStream(of: Void.self) }

            let rpcs = 10, streams = 5, echoes = 5, uploads = 5, subscriptions = 5
            let total = rpcs + streams + echoes + uploads + subscriptions
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<rpcs {
                    group.addTask {
                        do {
                            _ = try await client.rpc(Reference.blockingRpc, Empty())
                            record("rpc", nil)
                        } catch { record("rpc", error) }
                    }
                }
                for _ in 0..<streams {
                    group.addTask {
                        do {
                            try await client.stream(Reference.blockingStream, Empty()) { _, responses in
                                for try await _ in responses {}
                            }
                            record("stream", nil)
                        } catch { record("stream", error) }
                    }
                }
                for index in 0..<echoes {
                    group.addTask {
                        do {
                            try await client.stream(Reference.echo, Empty()) { writer, responses in
                                var iterator = responses.makeAsyncIterator()
                                try await writer.write(EchoInput(msg: "before-\(index)"))
                                _ = try await iterator.next()
                                // Mid-conversation: wait for the next echo, which never comes.
                                while try await iterator.next() != nil {}
                            }
                            record("echo stream", nil)
                        } catch { record("echo stream", error) }
                    }
                }
                for index in 0..<uploads {
                    let gate = gates[index].stream
                    group.addTask {
                        do {
                            _ = try await client.upload(Reference.addMultiple, Empty()) { writer in
                                try await writer.write(NumberInit(n: 1))
                                for await _ in gate {}
                                try await writer.write(NumberInit(n: 2))
                            }
                            record("upload", nil)
                        } catch { record("upload", error) }
                    }
                }
                for _ in 0..<subscriptions {
                    group.addTask {
                        do {
                            try await client.subscribe(Reference.blockingSubscription, Empty()) { updates in
                                for try await _ in updates {}
                            }
                            record("subscription", nil)
                        } catch { record("subscription", error) }
                    }
                }
                try await waitUntil("all \(total) calls to reach the server") { server.openStreamCount == total }
                server.restart()
                _ = try await waitForEvent(events) {
                    if case .sessionStatus(.destroyed) = $0 { true } else { false }
                }
                for gate in gates { gate.continuation.finish() }
                try await group.waitForAll()
            }
            // Every call failed because of the restart itself: had one waited for the grace
            // period (or a watchdog) to run out, its cause would say so.
            let restarted = "\(RiverError.Code.unexpectedDisconnect) (\(RiverFailureCause.Kind.serverRestarted))"
            #expect(recorder.outcomes == [
                "rpc: \(restarted)": rpcs,
                "stream: \(restarted)": streams,
                "echo stream: \(restarted)": echoes,
                "upload: \(restarted)": uploads,
                "subscription: \(restarted)": subscriptions,
            ])

            // New calls work, on a new session of the restarted server.
            let fresh = try await client.rpc(Reference.add, NumberInit(n: 1)).get()
            #expect(fresh.result == 1, "the restarted server starts from zero")
            #expect(client.transport.sessionID != nil)
            #expect(client.transport.sessionID != oldSession)
            let echoed = try await client.stream(Reference.echo, Empty()) { writer, responses in
                try await writer.write(EchoInput(msg: "after"))
                try await writer.finish()
                var all: [String] = []
                for try await response in responses { all.append(try response.get().response) }
                return all
            }
            #expect(echoed == ["after"])
        }
    }
}

/// Counts how the in-flight calls ended: by kind of call, error code and failure cause.
final class OutcomeRecorder: Sendable {
    /// A pthread mutex: this suite runs under ThreadSanitizer, which does not model
    /// `Synchronization.Mutex`'s futex (see Sources/River/Performance/README.md).
    private let state = AdaptiveMutex<[String: Int]>([:])

    var outcomes: [String: Int] { state.withLock { $0 } }

    @Sendable func record(_ kind: String, _ error: (any Error)?) {
        let key: String
        if let error = error as? RiverError {
            key = "\(kind): \(error.code) (\(error.cause.map { "\($0.kind)" } ?? "no cause"))"
        } else if let error {
            key = "\(kind): \(error)"
        } else {
            key = "\(kind): completed"
        }
        state.withLock { $0[key, default: 0] += 1 }
    }
}

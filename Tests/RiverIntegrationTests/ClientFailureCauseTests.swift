import River
import RiverTestServer
import RiverTesting
import RiverWebSocket
import Synchronization
import Testing

/// A connector that always fails with `error`, counting its attempts.
final class FailingConnector: RiverConnector {
    let error: RiverConnectError
    let attempts = Atomic<Int>(0)
    var endpointDescription: String { "failing://" }

    init(_ error: RiverConnectError) { self.error = error }

    func connect(timeout: Duration) async throws -> any RiverConnection {
        attempts.add(1, ordering: .relaxed)
        throw error
    }
}

/// Calls that end because the connection could not be made say why.
@Suite("Client failure causes", .timeLimit(.minutes(1)))
struct ClientFailureCauseTests {
    /// On a manual clock: the grace period ends only when the test says so, after a retry.
    @Test("connect failures are retried; the call reports the last connect error, never connected")
    func refusedConnectsReportTheConnectError() async throws {
        let clock = ManualRiverClock()
        let connector = FailingConnector(RiverConnectError(.refused, "connection refused (ECONNREFUSED)"))
        var configuration = RiverClient.Configuration(codec: JSONCodec(), randomSeed: 1)
        fastClient(&configuration)
        configuration.clock = clock
        let finalConfiguration = configuration
        try await withRiverClient(connector: connector, configuration: finalConfiguration) { client in
            let events = client.events()
            async let outcome: RiverError? = {
                do {
                    _ = try await client.rpc(Reference.add, NumberInit(n: 1))
                    return nil
                } catch { return error as? RiverError }
            }()
            // The refusal is reported when the client starts backing off: move past the backoff.
            _ = try await waitForEvent(events) {
                if case .connectionStatus(.disconnected(let reason)) = $0 { reason.hasPrefix("connectRefused") } else { false }
            }
            clock.advance(by: .seconds(1))
            try await waitUntil("the client to retry") { connector.attempts.load(ordering: .relaxed) == 2 }
            clock.advance(by: finalConfiguration.session.sessionDisconnectGrace)
            let error = await outcome
            #expect(error?.code == .unexpectedDisconnect)
            #expect(error?.cause?.kind == .graceExpired)
            #expect(error?.cause?.root.kind == .connectRefused)
            #expect(error?.message.hasPrefix("could not connect to SERVER") == true)
            #expect(error?.message.contains("ECONNREFUSED") == true)
            #expect((error?.underlying as? RiverConnectError)?.kind == .refused)
        }
        #expect(connector.attempts.load(ordering: .relaxed) >= 2, "retried within the budget")
    }

    @Test("an invalid URL is not retried: the call fails at once with invalidEndpoint")
    func invalidURLFailsAtOnce() async throws {
        let connector = FailingConnector(RiverConnectError(.invalidURL, "unsupported scheme 'http'"))
        // Patient: a connect timeout that ran out while the attempt waited for a thread would
        // make a second attempt.
        let configuration = RiverClient.Configuration(codec: JSONCodec(), randomSeed: 1).patient()
        try await withRiverClient(connector: connector, configuration: configuration) { client in
            let error = await #expect(throws: RiverError.self) {
                _ = try await client.rpc(Reference.add, NumberInit(n: 1), options: CallOptions(timeout: .seconds(30)))
            }
            #expect(error?.cause?.kind == .invalidEndpoint)
            #expect(error?.message.contains("unsupported scheme") == true)
        }
        #expect(connector.attempts.load(ordering: .relaxed) == 1)
    }
}

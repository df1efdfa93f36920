import River
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
    @Test("connect failures are retried; the call reports the last connect error, never connected")
    func refusedConnectsReportTheConnectError() async throws {
        let connector = FailingConnector(RiverConnectError(.refused, "connection refused (ECONNREFUSED)"))
        var configuration = RiverClient.Configuration(codec: JSONCodec(), randomSeed: 1)
        fastClient(&configuration)
        // Generous: the first attempt must fail before the grace period ends, even on a loaded machine
        // (ManualClockTests checks the same on a manual clock).
        configuration.session.sessionDisconnectGrace = .seconds(3)
        try await withRiverClient(connector: connector, configuration: configuration) { client in
            let error = await #expect(throws: RiverError.self) { _ = try await client.rpc(Reference.add, NumberInit(n: 1)) }
            #expect(error?.code == .unexpectedDisconnect)
            #expect(error?.cause?.kind == .graceExpired)
            #expect(error?.cause?.root.kind == .connectRefused)
            #expect(error?.message.hasPrefix("could not connect to SERVER") == true)
            #expect(error?.message.contains("ECONNREFUSED") == true)
            #expect((error?.underlying as? RiverConnectError)?.kind == .refused)
        }
        #expect(connector.attempts.load(ordering: .relaxed) > 1, "retried within the budget")
    }

    @Test("an invalid URL is not retried: the call fails at once with invalidEndpoint")
    func invalidURLFailsAtOnce() async throws {
        let connector = FailingConnector(RiverConnectError(.invalidURL, "unsupported scheme 'http'"))
        var configuration = RiverClient.Configuration(codec: JSONCodec(), randomSeed: 1)
        configuration.session.sessionDisconnectGrace = .seconds(60)
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

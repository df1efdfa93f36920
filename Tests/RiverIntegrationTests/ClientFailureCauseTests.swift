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

/// A connector that reports its own deadline the way one racing a timer against its wait does:
/// it cancels the wait, which throws `CancellationError` (its deadline is a quarter of the
/// client's connection timeout, so it always gives up before the client's own timer fires).
final class SelfCancellingConnector: RiverConnector {
    let attempts = Atomic<Int>(0)
    var endpointDescription: String { "never-opens://" }

    func connect(timeout: Duration) async throws -> any RiverConnection {
        attempts.add(1, ordering: .relaxed)
        try await Task.sleep(for: timeout / 4)
        throw CancellationError()
    }
}

/// A connector whose connections refuse the server's first reply as too large: each closes,
/// right after the client's handshake request goes out, with cause `frameTooLarge` and no
/// close code (a connection other than a WebSocket need not speak in 1009s).
final class OversizedReplyConnector: RiverConnector {
    final class Connection: RiverConnection {
        let events: AsyncStream<RiverConnectionEvent>
        private let continuation: AsyncStream<RiverConnectionEvent>.Continuation

        init() { (events, continuation) = AsyncStream.makeStream() }

        func send(_ message: [UInt8]) {
            continuation.yield(.closed(RiverConnectionClosure(
                code: nil, reason: "a message larger than 1024 bytes", initiatedLocally: true, cause: .frameTooLarge)))
            continuation.finish()
        }

        func close(code: UInt16, reason: String) { continuation.finish() }
        func abort() { continuation.finish() }
    }

    let attempts = Atomic<Int>(0)
    var endpointDescription: String { "oversized://" }

    func connect(timeout: Duration) async throws -> any RiverConnection {
        attempts.add(1, ordering: .relaxed)
        return Connection()
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

    @Test("a connector that gives up by cancelling its own wait timed out: the cause is connectTimeout, never a CancellationError")
    func selfCancelledConnectIsATimeout() async throws {
        let connector = SelfCancellingConnector()
        var configuration = RiverClient.Configuration(codec: JSONCodec(), randomSeed: 1)
        fastClient(&configuration)
        configuration.session.connectionTimeout = .milliseconds(400)
        // Long enough for the first attempt to fail within it on a loaded machine.
        configuration.session.sessionDisconnectGrace = .seconds(10)
        try await withRiverClient(connector: connector, configuration: configuration) { client in
            let error = await #expect(throws: RiverError.self) { _ = try await client.rpc(Reference.add, NumberInit(n: 1)) }
            #expect(error?.cause?.kind == .graceExpired)
            #expect(error?.cause?.root.kind == .connectTimeout, "\(String(describing: error))")
            #expect(error?.message.contains("CancellationError") == false, "\(String(describing: error))")
        }
        #expect(connector.attempts.load(ordering: .relaxed) >= 1)
    }

    @Test("a connection closed because a message was too large is cause frameTooLarge, whatever its close code")
    func frameTooLargeWithoutCloseCode() async throws {
        let connector = OversizedReplyConnector()
        let configuration = RiverClient.Configuration(codec: JSONCodec(), randomSeed: 1).patient()
        try await withRiverClient(connector: connector, configuration: configuration) { client in
            let error = await #expect(throws: RiverError.self) {
                _ = try await client.rpc(Reference.add, NumberInit(n: 1), options: CallOptions(timeout: .seconds(30)))
            }
            #expect(error?.code == .unexpectedDisconnect)
            #expect(error?.cause?.kind == .frameTooLarge, "\(String(describing: error))")
            #expect(error?.message.contains("larger than 1024 bytes") == true, "\(String(describing: error))")
        }
        // The server would send the same message again: the session is not resumed.
        #expect(connector.attempts.load(ordering: .relaxed) == 1)
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

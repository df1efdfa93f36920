import Foundation
import River
import RiverWebSocket
import Testing

/// A `RiverClient` over a real WebSocket against servers that never let it connect: the call
/// that ends because of it names the cause (typed, end to end), and what can never work fails
/// when the client is created.
@Suite("RiverClient connect failures over WebSocket", .timeLimit(.minutes(2)))
struct RiverClientConnectFailureTests {
    static let add = RPCProcedure<RiverValue, RiverValue, RiverServiceError>(service: "test", procedure: "add")

    /// Settings for a client that gives up within seconds: fast retries and a grace period of
    /// 10 s, long enough for the first attempt to fail within it on a loaded machine (a call
    /// ends when the grace period does, with the last failed attempt's failure as its root
    /// cause). The default connect timeout outlasts the grace period, so that on a loaded
    /// machine no attempt times out instead of failing the way the test expects.
    static func quickGivingUp(connectionTimeout: Duration = .seconds(30)) -> RiverClient.Configuration {
        var configuration = RiverClient.Configuration(codec: JSONCodec(), randomSeed: 5)
        configuration.session.connectionTimeout = connectionTimeout
        configuration.session.sessionDisconnectGrace = .seconds(10)
        configuration.session.backoff.baseInterval = .milliseconds(20)
        configuration.session.backoff.maxJitter = .milliseconds(10)
        return configuration
    }

    /// The error an `add` call on a client of `url` ends with.
    static func failure(url: String, configuration: RiverClient.Configuration) async throws -> RiverError? {
        try await withRiverClient(url: url, configuration: configuration) { client in
            await #expect(throws: RiverError.self) {
                _ = try await client.rpc(add, ["n": 1], options: CallOptions(timeout: .seconds(60)))
            }
        }
    }

    @Test("an upgrade refused with HTTP 403: the call's cause is httpStatus, carrying 403")
    func httpStatusCause() async throws {
        let server = try RawServer(.answer("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
        defer { server.close() }
        let error = try await Self.failure(url: "ws://127.0.0.1:\(server.port)/", configuration: Self.quickGivingUp())
        #expect(error?.code == .unexpectedDisconnect)
        let root = try #require(error?.cause?.root, "\(String(describing: error))")
        #expect(root.kind == .httpStatus, "\(root)")
        #expect(root.httpStatus == 403, "\(root)")
        #expect(root.connectError?.kind == .httpUpgrade, "\(root)")
        #expect(error?.message.contains("403") == true, "\(String(describing: error))")
    }

    @Test("a server that accepts TCP but never answers the upgrade: the call's cause is connectTimeout, never a cancellation")
    func connectTimeoutCause() async throws {
        let server = try RawServer(.silent)
        defer { server.close() }
        let configuration = Self.quickGivingUp(connectionTimeout: .milliseconds(300))
        try await withRiverClient(url: "ws://127.0.0.1:\(server.port)/", configuration: configuration) { client in
            let events = client.events()
            let error = await #expect(throws: RiverError.self) {
                _ = try await client.rpc(Self.add, ["n": 1], options: CallOptions(timeout: .seconds(60)))
            }
            let root = try #require(error?.cause?.root, "\(String(describing: error))")
            #expect(root.kind == .connectTimeout, "\(root)")
            #expect(!root.wasConnected)
            #expect(error?.message.hasPrefix("could not connect to SERVER: graceExpired") == true, "\(String(describing: error))")
            #expect(!"\(String(describing: error))".contains("CancellationError"))
            // No attempt of the grace period read as a cancellation or an unnamed failure.
            client.close()
            var reasons: [String] = []
            for await event in events {
                if case .connectionStatus(.disconnected(let reason)) = event { reasons.append(reason) }
            }
            #expect(reasons.contains { $0.hasPrefix("connectTimeout:") }, "\(reasons)")
            #expect(!reasons.contains { $0.contains("CancellationError") || $0.hasPrefix("connectFailed") }, "\(reasons)")
        }
    }

    @Test("RiverClient(url:) with a malformed or unsupported URL throws invalidURL at creation",
          arguments: ["http://127.0.0.1:1/", "https://example.com/", "not a url", "ws:///path", "ws://127.0.0.1:99999/"])
    func invalidURLAtCreation(url: String) {
        let error = #expect(throws: RiverConnectError.self) {
            _ = try RiverClient(url: url, configuration: .init(codec: JSONCodec()))
        }
        #expect(error?.kind == .invalidURL, "\(String(describing: error))")
        let cause = error.map { RiverFailureCause(connectFailure: $0) }
        #expect(cause?.kind == .invalidEndpoint)
        #expect(cause?.isPermanent == true)
    }

    @Test("RiverClient(url:) with unreadable TLS files throws a tls error at creation, naming the file")
    func unreadableTLSFilesAtCreation() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let garbage = try scratch.write("not PEM at all\n", to: "garbage.pem")
        for tls in [
            WebSocketConnector.TLS(caFilePath: "/nonexistent/river-ca.pem"),
            WebSocketConnector.TLS(caFilePath: garbage),
            WebSocketConnector.TLS(certificatePath: "/nonexistent/river-cert.pem", privateKeyPath: "/nonexistent/river-key.pem"),
        ] {
            let error = #expect(throws: RiverConnectError.self) {
                _ = try RiverClient(url: "wss://127.0.0.1:1/", configuration: .init(codec: JSONCodec()), webSocket: .init(tls: tls))
            }
            #expect(error?.kind == .tls, "\(tls): \(String(describing: error))")
            let named = [tls.caFilePath, tls.certificatePath].compactMap { $0 }.first ?? ""
            #expect(error?.message.contains(named) == true, "\(String(describing: error))")
        }
    }

    @Test("withRiverClient(url:) with an unusable URL throws before running its body")
    func withRiverClientRejectsAtOnce() async {
        let error = await #expect(throws: RiverConnectError.self) {
            try await withRiverClient(url: "http://127.0.0.1:1/", configuration: .init(codec: JSONCodec())) { _ in
                Issue.record("the body ran")
            }
        }
        #expect(error?.kind == .invalidURL)
    }
}

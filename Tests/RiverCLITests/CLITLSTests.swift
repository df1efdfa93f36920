import River
import RiverTestServer
import RiverTLSFixtures
import RiverWebSocket
import Testing

/// Runs the test server behind a TLS listener on 127.0.0.1 for the duration of `body`, which
/// gets the `wss://` URL. With `requireClientCertificate`, clients must present a certificate
/// signed by the fixtures' CA (mutual TLS).
private func withTLSServer<Value: Sendable>(
    requireClientCertificate: Bool = false,
    _ body: (String) async throws -> Value
) async throws -> Value {
    let tls = WebSocketListener.TLS(
        certificateChainPath: TLSFixtures.serverCertificatePath,
        privateKeyPath: TLSFixtures.serverKeyPath,
        clientCAFilePath: requireClientCertificate ? TLSFixtures.caPath : nil)
    return try await RiverTestServer.withRunningServer(configuration: .init(codec: JSONCodec()), tls: tls) { _, port in
        try await body("wss://127.0.0.1:\(port)")
    }
}

@Suite("CLI TLS", .timeLimit(.minutes(2)))
struct CLITLSTests {
    @Test("--cacert trusts the server's CA: the call succeeds over wss://")
    func caFileIsTrusted() async throws {
        try await withTLSServer { url in
            let result = try await runRiver(["call", url, "test.add", #"{"n":2}"#, "--cacert", TLSFixtures.caPath])
            #expect(result.status == 0, "\(result)")
            #expect(try result.stdoutValues().first?["result"]?.doubleValue == 2)
        }
    }

    @Test("without --cacert the self-made CA is not trusted: exit 4 with a TLS error")
    func unknownCAFails() async throws {
        try await withTLSServer { url in
            let result = try await runRiver(["call", url, "test.add", #"{"n":2}"#, "--timeout", "20"])
            #expect(result.status == 4, "\(result)")
            #expect(result.stderr.lowercased().contains("tls") || result.stderr.lowercased().contains("certificate"), "\(result)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test("--insecure accepts any server certificate")
    func insecureAcceptsAnyCertificate() async throws {
        try await withTLSServer { url in
            let result = try await runRiver(["call", url, "test.add", #"{"n":5}"#, "--insecure"])
            #expect(result.status == 0, "\(result)")
            #expect(try result.stdoutValues().first?["result"]?.doubleValue == 5)
        }
    }

    @Test("mutual TLS: --cert/--key get through a listener that requires a client certificate; without them, exit 4")
    func clientCertificate() async throws {
        try await withTLSServer(requireClientCertificate: true) { url in
            let accepted = try await runRiver([
                "call", url, "test.add", #"{"n":7}"#, "--cacert", TLSFixtures.caPath,
                "--cert", TLSFixtures.clientCertificatePath, "--key", TLSFixtures.clientKeyPath,
            ])
            #expect(accepted.status == 0, "\(accepted)")
            #expect(try accepted.stdoutValues().first?["result"]?.doubleValue == 7)

            let refused = try await runRiver([
                "call", url, "test.add", #"{"n":7}"#, "--cacert", TLSFixtures.caPath, "--timeout", "20",
            ])
            #expect(refused.status == 4, "\(refused)")
        }
    }

    @Test("--cert without --key is a usage error (exit 64)")
    func certNeedsKey() async throws {
        let result = try await runRiver(["call", "wss://127.0.0.1:1", "test.add", "{}", "--cert", TLSFixtures.clientCertificatePath])
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains("--cert and --key go together"))
    }
}

import River
import RiverWebSocket
import RiverTLSFixtures
import Testing

@Suite("WebSocket TLS", .timeLimit(.minutes(1)))
struct WebSocketTLSTests {
    private static let serverTLS = WebSocketListener.TLS(
        certificateChainPath: TLSFixtures.serverCertificatePath,
        privateKeyPath: TLSFixtures.serverKeyPath
    )

    private static let mutualTLS = WebSocketListener.TLS(
        certificateChainPath: TLSFixtures.serverCertificatePath,
        privateKeyPath: TLSFixtures.serverKeyPath,
        clientCAFilePath: TLSFixtures.caPath
    )

    /// Connects to a TLS listener with `tls` and exchanges one message each way.
    private func roundTrip(host: String, tls: WebSocketConnector.TLS, serverTLS: WebSocketListener.TLS = serverTLS) async throws {
        let listener = try await WebSocketListener.bind(configuration: .init(tls: serverTLS))
        defer { withExtendedLifetime(listener) {} }
        try await withTimeout {
            async let server = accept(listener)
            let connector = try WebSocketConnector(url: "wss://\(host):\(listener.port)/river", configuration: .init(tls: tls))
            let client = try await connector.connect(timeout: .seconds(30))
            let serverConnection = try await server
            var clientEvents = client.events.makeAsyncIterator()
            var serverEvents = serverConnection.events.makeAsyncIterator()
            client.send([1, 2, 3])
            #expect(try await nextMessage(&serverEvents) == [1, 2, 3])
            serverConnection.send(pattern(count: 300_000))
            let large = try await nextMessage(&clientEvents)
            #expect(large == pattern(count: 300_000))
            client.close(code: 1000, reason: "tls done")
            let serverSide = try await closure(&serverEvents)
            #expect(serverSide.code == 1000 && serverSide.reason == "tls done")
        }
        await listener.close()
    }

    @Test("an unknown CA is rejected with a readable TLS error")
    func rejectedWithoutCA() async throws {
        let listener = try await WebSocketListener.bind(configuration: .init(tls: Self.serverTLS))
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await WebSocketConnector(url: "wss://localhost:\(listener.port)/").connect(timeout: .seconds(30))
        }
        #expect(error?.kind == .tls, "\(String(describing: error))")
        #expect(error?.message.lowercased().contains("certificate") == true, "\(String(describing: error))")
        print("unknown CA: \(String(describing: error))")
        await listener.close()
    }

    @Test("a certificate for another host name is rejected")
    func wrongHostName() async throws {
        // The certificate names localhost and 127.0.0.1; 127.0.0.2 is loopback too.
        let listener = try await WebSocketListener.bind(host: "127.0.0.2", configuration: .init(tls: Self.serverTLS))
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await WebSocketConnector(
                url: "wss://127.0.0.2:\(listener.port)/",
                configuration: .init(tls: .init(caFilePath: TLSFixtures.caPath))
            ).connect(timeout: .seconds(30))
        }
        #expect(error?.kind == .tls, "\(String(describing: error))")
        print("wrong host: \(String(describing: error))")
        await listener.close()
    }

    @Test("the configured CA file is trusted", arguments: ["localhost", "127.0.0.1"])
    func acceptedWithCA(host: String) async throws {
        try await roundTrip(host: host, tls: .init(caFilePath: TLSFixtures.caPath))
    }

    @Test("allowInsecure accepts an untrusted certificate")
    func acceptedInsecure() async throws {
        try await roundTrip(host: "127.0.0.1", tls: .init(allowInsecure: true))
    }

    @Test("mutual TLS: the client certificate is accepted by a listener that requires one")
    func clientCertificate() async throws {
        try await roundTrip(
            host: "localhost",
            tls: .init(
                caFilePath: TLSFixtures.caPath,
                certificatePath: TLSFixtures.clientCertificatePath,
                privateKeyPath: TLSFixtures.clientKeyPath
            ),
            serverTLS: Self.mutualTLS
        )
    }

    @Test("mutual TLS: a client without a certificate is turned away")
    func clientCertificateMissing() async throws {
        let listener = try await WebSocketListener.bind(configuration: .init(tls: Self.mutualTLS))
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await WebSocketConnector(
                url: "wss://localhost:\(listener.port)/",
                configuration: .init(tls: .init(caFilePath: TLSFixtures.caPath))
            ).connect(timeout: .seconds(30))
        }
        #expect(error?.kind == .tls, "\(String(describing: error))")
        #expect(error?.tlsDetail?.contains("certificate required") == true, "\(String(describing: error))")
        print("mTLS without certificate: \(String(describing: error))")
        await listener.close()
    }

    @Test("mutual TLS: a client certificate from another CA is turned away")
    func clientCertificateUntrusted() async throws {
        // The listener trusts only the server certificate itself as a client CA, so the client
        // certificate (issued by the test CA) does not chain to anything it trusts.
        let listener = try await WebSocketListener.bind(configuration: .init(tls: .init(
            certificateChainPath: TLSFixtures.serverCertificatePath,
            privateKeyPath: TLSFixtures.serverKeyPath,
            clientCAFilePath: TLSFixtures.serverCertificatePath
        )))
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await WebSocketConnector(
                url: "wss://localhost:\(listener.port)/",
                configuration: .init(tls: .init(
                    caFilePath: TLSFixtures.caPath,
                    certificatePath: TLSFixtures.clientCertificatePath,
                    privateKeyPath: TLSFixtures.clientKeyPath
                ))
            ).connect(timeout: .seconds(30))
        }
        #expect(error?.kind == .tls, "\(String(describing: error))")
        #expect(error?.tlsDetail?.contains("unknown CA") == true, "\(String(describing: error))")
        print("mTLS untrusted certificate: \(String(describing: error))")
        await listener.close()
    }

    @Test("a listener with a missing or non-PEM TLS file fails to bind, naming the file")
    func listenerChecksItsTLSFiles() async throws {
        for tls in [
            WebSocketListener.TLS(certificateChainPath: "/nonexistent/server.pem", privateKeyPath: TLSFixtures.serverKeyPath),
            // A certificate where the key belongs.
            WebSocketListener.TLS(certificateChainPath: TLSFixtures.serverCertificatePath, privateKeyPath: TLSFixtures.serverCertificatePath),
        ] {
            let error = await #expect(throws: WebSocketListener.BindError.self) {
                _ = try await WebSocketListener.bind(configuration: .init(tls: tls))
            }
            #expect(error?.message.contains("TLS") == true, "\(String(describing: error))")
        }
    }

    @Test("plain ws:// to a TLS listener fails instead of hanging")
    func plainToTLS() async throws {
        let listener = try await WebSocketListener.bind(configuration: .init(tls: Self.serverTLS))
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await WebSocketConnector(url: "ws://127.0.0.1:\(listener.port)/").connect(timeout: .seconds(30))
        }
        print("plain to TLS: \(String(describing: error))")
        await listener.close()
    }
}

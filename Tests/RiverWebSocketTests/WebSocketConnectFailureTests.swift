import Foundation
import River
import RiverTLSFixtures
import RiverTestProcess
import RiverWebSocket
import Testing

/// Connect failures are taken from each attempt's own status, so several attempts failing in
/// different ways at the same moment each report their own kind and data.
@Suite("WebSocket connect failures", .timeLimit(.minutes(1)))
struct WebSocketConnectFailureTests {
    /// One way to fail, and what the error must say.
    private enum Failure: String, CaseIterable, Sendable {
        case refused, httpStatus, tls, clientCertificateRequired, timeout, resetAfterAccept
    }

    @Test("concurrent handshakes failing in different ways each report their own kind")
    func concurrentFailuresKeepTheirOwnKinds() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }  // refusing until the test ends
        let forbidden = try RawServer(.answer("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
        let silent = try RawServer(.silent)
        let resetting = try RawServer(.reset)
        let tlsListener = try await WebSocketListener.bind(configuration: .init(tls: .init(
            certificateChainPath: TLSFixtures.serverCertificatePath, privateKeyPath: TLSFixtures.serverKeyPath)))
        let mutualTLSListener = try await WebSocketListener.bind(configuration: .init(tls: .init(
            certificateChainPath: TLSFixtures.serverCertificatePath, privateKeyPath: TLSFixtures.serverKeyPath,
            clientCAFilePath: TLSFixtures.caPath)))
        defer {
            forbidden.close()
            silent.close()
            resetting.close()
        }
        let urls = Dictionary(uniqueKeysWithValues: Failure.allCases.map { failure -> (Failure, String) in
            let url = switch failure {
            case .refused: "ws://127.0.0.1:\(refusing.port)/"
            case .httpStatus: "ws://127.0.0.1:\(forbidden.port)/"
            // No CA configured: the test CA is unknown to the system trust store.
            case .tls: "wss://localhost:\(tlsListener.port)/"
            // The server's certificate is trusted, but the client has none to show.
            case .clientCertificateRequired: "wss://localhost:\(mutualTLSListener.port)/"
            case .timeout: "ws://127.0.0.1:\(silent.port)/"
            case .resetAfterAccept: "ws://127.0.0.1:\(resetting.port)/"
            }
            return (failure, url)
        })
        // Three rounds of every failure, all started together.
        let attempts = (0..<3).flatMap { _ in Failure.allCases }
        let results = try await withTimeout(.seconds(40)) {
            try await withThrowingTaskGroup(of: (Failure, RiverConnectError?).self) { group in
                for failure in attempts {
                    let tls = WebSocketConnector.TLS(caFilePath: failure == .clientCertificateRequired ? TLSFixtures.caPath : nil)
                    let connector = try WebSocketConnector(url: urls[failure] ?? "", configuration: .init(tls: tls))
                    group.addTask {
                        do {
                            let connection = try await connector.connect(timeout: .seconds(failure == .timeout ? 2 : 20))
                            connection.abort()
                            return (failure, nil)
                        } catch let error as RiverConnectError {
                            return (failure, error)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        await tlsListener.close()
        await mutualTLSListener.close()
        #expect(results.count == attempts.count)
        for (failure, error) in results {
            let error = try #require(error, "\(failure) connected")
            switch failure {
            case .refused:
                #expect(error.kind == .refused, "\(error)")
            case .httpStatus:
                #expect(error.kind == .httpUpgrade, "\(error)")
                #expect(error.httpStatus == 403, "\(error)")
            case .tls:
                #expect(error.kind == .tls, "\(error)")
                #expect(error.tlsDetail?.contains("certificate verify failed") == true, "\(error)")
            case .clientCertificateRequired:
                #expect(error.kind == .tls, "\(error)")
                #expect(error.tlsDetail?.contains("certificate required") == true, "\(error)")
            case .timeout:
                #expect(error.kind == .timedOut, "\(error)")
            case .resetAfterAccept:
                #expect(error.kind == .closedDuringHandshake, "\(error)")
            }
        }
    }

    @Test("a connect cancelled at or after its timeout reports the timeout, not CancellationError")
    func timeoutRacingCancellation() async throws {
        let timeout = Duration.milliseconds(300)
        for _ in 0..<3 {
            // A server per round: it reports the first request it reads.
            let holding = try RawServer(.hold)
            defer { holding.close() }
            let connector = try WebSocketConnector(url: "ws://127.0.0.1:\(holding.port)/")
            let task = Task { try await connector.connect(timeout: timeout) }
            // The request arrived, so the connect (and its deadline) started before this point:
            // the cancellation below comes at or after the deadline, racing the connect's own
            // timer (as a caller racing its own timer would). Either way it is a timeout. (The
            // connect's timer usually wins this race; the branch where the cancellation wins is
            // not forced here.)
            try await withTimeout { await holding.requestReceived() }
            try await Task.sleep(for: timeout)
            task.cancel()
            let result = await task.result
            let error = #expect(throws: RiverConnectError.self) { try result.get() }
            #expect(error?.kind == .timedOut, "\(String(describing: error))")
        }
    }
}

@Suite("WebSocket connector validation")
struct WebSocketConnectorValidationTests {
    @Test("a malformed URL fails when the connector is created",
          arguments: ["http://127.0.0.1/", "not a url", "ws:///path", "ws://host:99999/", "ws://:80/"])
    func invalidURL(url: String) {
        let error = #expect(throws: RiverConnectError.self) { try WebSocketConnector(url: url) }
        #expect(error?.kind == .invalidURL, "\(String(describing: error))")
    }

    @Test("a missing TLS file fails when the connector is created")
    func missingTLSFile() {
        let error = #expect(throws: RiverConnectError.self) {
            try WebSocketConnector(url: "wss://localhost/", configuration: .init(tls: .init(caFilePath: "/nonexistent/ca.pem")))
        }
        #expect(error?.kind == .tls, "\(String(describing: error))")
        #expect(error?.message.contains("/nonexistent/ca.pem") == true, "\(String(describing: error))")
        #expect(error?.tlsDetail?.contains("cannot be read") == true, "\(String(describing: error))")
    }

    @Test("an unparsable TLS file fails when the connector is created")
    func unparsableTLSFiles() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let garbage = try scratch.write("this is not PEM\n", to: "garbage.pem")
        let badBase64 = try scratch.write("-----BEGIN CERTIFICATE-----\n@@@not base64@@@\n-----END CERTIFICATE-----\n", to: "bad.pem")

        for tls in [
            WebSocketConnector.TLS(caFilePath: garbage),
            WebSocketConnector.TLS(caFilePath: badBase64),
            // A certificate where the key belongs.
            WebSocketConnector.TLS(certificatePath: TLSFixtures.clientCertificatePath, privateKeyPath: TLSFixtures.clientCertificatePath),
            WebSocketConnector.TLS(certificatePath: TLSFixtures.clientCertificatePath),
        ] {
            let error = #expect(throws: RiverConnectError.self) {
                try WebSocketConnector(url: "wss://localhost/", configuration: .init(tls: tls))
            }
            #expect(error?.kind == .tls, "\(tls): \(String(describing: error))")
        }
        // The fixtures themselves pass, and ws:// URLs ignore TLS settings.
        _ = try WebSocketConnector(url: "wss://localhost/", configuration: .init(tls: .init(
            caFilePath: TLSFixtures.caPath, certificatePath: TLSFixtures.clientCertificatePath,
            privateKeyPath: TLSFixtures.clientKeyPath)))
        _ = try WebSocketConnector(url: "ws://localhost/", configuration: .init(tls: .init(caFilePath: garbage)))
    }

    @Test("an upgrade header with a line break fails when the connector is created")
    func headerInjection() {
        let error = #expect(throws: RiverConnectError.self) {
            try WebSocketConnector(url: "ws://127.0.0.1:1/", configuration: .init(headers: [("X-Test", "a\r\nInjected: yes")]))
        }
        #expect(error?.kind == .other, "\(String(describing: error))")
    }
}

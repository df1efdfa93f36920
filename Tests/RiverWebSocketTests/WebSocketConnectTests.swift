import Foundation
import River
import RiverTestProcess
import RiverWebSocket
import Testing

@Suite("WebSocket connecting", .timeLimit(.minutes(1)))
struct WebSocketConnectTests {
    @Test("a port nobody listens on is refused quickly")
    func refused() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }  // refusing until the test ends
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await WebSocketConnector(url: "ws://127.0.0.1:\(refusing.port)/").connect(timeout: .seconds(10))
        }
        // Quickly: the refusal ended the attempt, not its 10 s timeout (that would be timedOut).
        #expect(error?.kind == .refused, "\(String(describing: error))")
    }

    @Test("a host name is resolved off the service thread (localhost, from /etc/hosts)")
    func resolvesLocalhost() async throws {
        // No test sends a DNS query (nothing but loopback traffic here): localhost comes from
        // /etc/hosts. If it resolves to ::1 first, the refused attempt moves on to 127.0.0.1.
        let listener = try await WebSocketListener.bind()
        try await withTimeout {
            async let accepted = accept(listener)
            let client = try await WebSocketConnector(url: "ws://localhost:\(listener.port)/").connect(timeout: .seconds(30))
            let server = try await accepted
            #expect(server.requestHeader("host") == "localhost:\(listener.port)")
            client.close(code: 1000, reason: "")
        }
        await listener.close()
    }

    @Test("a host name that cannot resolve is a DNS failure")
    func unresolvableHostIsADNSFailure() async throws {
        // A 64-character label is not a valid DNS name: the system resolver refuses it at once,
        // without asking any server, so this needs no network (and `.invalid` never resolves).
        let host = String(repeating: "a", count: 64) + ".invalid"
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await WebSocketConnector(url: "ws://\(host):80/").connect(timeout: .seconds(10))
        }
        #expect(error?.kind == .dnsFailure, "\(String(describing: error))")
        #expect(error?.message.contains(host) == true, "\(String(describing: error))")
    }

    @Test("a server that never answers the upgrade times out")
    func connectTimeout() async throws {
        let server = try RawServer(.silent)
        defer { server.close() }
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await WebSocketConnector(url: "ws://127.0.0.1:\(server.port)/").connect(timeout: .milliseconds(300))
        }
        // The timer fired (the suite's time limit catches a hang).
        #expect(error?.kind == .timedOut, "\(String(describing: error))")
    }

    @Test("a TLS handshake that never completes times out")
    func tlsHandshakeTimeout() async throws {
        let server = try RawServer(.silent)
        defer { server.close() }
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await WebSocketConnector(url: "wss://127.0.0.1:\(server.port)/").connect(timeout: .milliseconds(300))
        }
        #expect(error?.kind == .timedOut, "\(String(describing: error))")
    }

    @Test("a plain HTTP answer is an upgrade failure")
    func httpUpgradeFailure() async throws {
        let server = try RawServer(.answer("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
        defer { server.close() }
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await WebSocketConnector(url: "ws://127.0.0.1:\(server.port)/").connect(timeout: .seconds(30))
        }
        #expect(error?.kind == .httpUpgrade, "\(String(describing: error))")
    }

    @Test("custom upgrade headers and the path reach the server")
    func upgradeHeaders() async throws {
        let headers = [(name: "Authorization", value: "Bearer secret"), (name: "X-River-Test", value: "hello 123")]
        try await withConnectedPair(
            listener: .init(capturedCustomHeaders: ["X-River-Test"]),
            client: .init(headers: headers),
            path: "/river?client=swift"
        ) { client, server in
            #expect(server.requestHeader("authorization") == "Bearer secret")
            #expect(server.requestHeader("X-River-Test") == "hello 123")
            #expect(server.requestHeader(":path") == "/river?client=swift")
            #expect(server.requestHeader("host")?.hasPrefix("127.0.0.1:") == true)
            client.close(code: 1000, reason: "")
        }
    }

    @Test("IPv6 loopback works for both listener and client", .enabled(if: FileManager.default.fileExists(atPath: "/proc/net/if_inet6")))
    func ipv6() async throws {
        let listener = try await WebSocketListener.bind(host: "::1")
        try await withTimeout {
            async let accepted = accept(listener)
            let client = try await WebSocketConnector(url: "ws://[::1]:\(listener.port)/v6").connect(timeout: .seconds(30))
            let server = try await accepted
            #expect(server.requestHeader("host") == "[::1]:\(listener.port)")
            var events = server.events.makeAsyncIterator()
            client.send([6])
            #expect(try await nextMessage(&events) == [6])
            client.close(code: 1000, reason: "")
        }
        await listener.close()
    }

    @Test("many connections at once")
    func manyConnections() async throws {
        let listener = try await WebSocketListener.bind()
        let count = 50
        try await withTimeout {
            async let echoed: Void = withDiscardingTaskGroup { group in
                var accepted = 0
                for await connection in listener.connections {
                    group.addTask {
                        for await event in connection.events {
                            if case .message(let bytes) = event { connection.send(bytes) }
                        }
                    }
                    accepted += 1
                    if accepted == count { break }
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let client = try await WebSocketConnector(url: "ws://127.0.0.1:\(listener.port)/").connect(timeout: .seconds(30))
                        var events = client.events.makeAsyncIterator()
                        client.send([UInt8(index)])
                        #expect(try await nextMessage(&events) == [UInt8(index)])
                        client.close(code: 1000, reason: "")
                        _ = try await closure(&events)
                    }
                }
                try await group.waitForAll()
            }
            await echoed
        }
        await listener.close()
    }
}

@Suite("WebSocket connect arguments")
struct WebSocketConnectArgumentTests {
    @Test("a cancelled connect ends promptly with CancellationError")
    func cancellation() async throws {
        let server = try RawServer(.silent)
        defer { server.close() }
        let task = Task {
            try await WebSocketConnector(url: "ws://127.0.0.1:\(server.port)/").connect(timeout: .seconds(30))
        }
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
    }
}

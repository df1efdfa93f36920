import River
import RiverTestServer
import RiverWebSocket
import Testing

/// Many River sessions at once on the process's one WebSocket event loop (libev when
/// `libwebsockets-evlib-ev` is installed): calls, heartbeats and cuts of every session are
/// handled, not just the first few.
@Suite("Many sessions on one event loop", .timeLimit(.minutes(3)))
struct ManySessionsTests {
    static let sessions = 64

    @Test("64 sessions: calls work, a network cut and missing heartbeats are detected on every one")
    func manySessions() async throws {
        // Heartbeats every 200 ms (the blackhole is noticed within about a second), but grace
        // periods and handshakes patient enough for 64 reconnects on a loaded machine.
        let timings = RiverTestServer.Timings(
            heartbeatInterval: .milliseconds(200), heartbeatsUntilDead: 3,
            sessionDisconnectGrace: .seconds(60), handshakeTimeout: .seconds(30))
        let serverConfiguration = RiverTestServer.Configuration(codec: MessagePackCodec(), timings: timings)
        try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { server, port in
            let connector = try WebSocketConnector(url: "ws://127.0.0.1:\(port)")
            let clients = (0..<Self.sessions).map { index in
                var configuration = RiverClient.Configuration(serverID: serverConfiguration.serverID, codec: MessagePackCodec(), randomSeed: UInt64(index))
                fastClient(&configuration)
                configuration.session.handshakeTimeout = .seconds(30)
                configuration.session.connectionTimeout = .seconds(30)
                configuration.session.sessionDisconnectGrace = .seconds(60)
                return RiverClient(connector: connector, configuration: configuration)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in clients { group.addTask { try await client.run() } }
                defer { for client in clients { client.close() } }
                try await exercise(clients, server: server)
                for client in clients { client.close() }
                try await group.waitForAll()
            }
        }
    }

    private func exercise(_ clients: [RiverClient], server: RiverTestServer) async throws {
        // Every session connects and answers a call.
        try await forEach(clients.indices) { index in
            _ = try await clients[index].rpc(Reference.add, NumberInit(n: 1)).get()
        }
        #expect(server.sessionCount == clients.count)
        // Subscribed once connected: each stream starts with the session and "connected".
        let events = clients.map { $0.events() }
        let sessionIDs = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in clients.indices {
                group.addTask {
                    let created = try await waitForEvent(events[index]) { if case .sessionStatus(.created) = $0 { true } else { false } }
                    guard case .sessionStatus(.created(let id)) = created else { return (index, "") }
                    return (index, id)
                }
            }
            return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }

        // A cut of every connection: each client notices, reconnects and resumes its session.
        server.dropAllConnections()
        try await forEach(clients.indices) { index in
            _ = try await waitForEvent(events[index]) { if case .connectionStatus(.disconnected) = $0 { true } else { false } }
            let resumed = try await waitForEvent(events[index]) { if case .connectionStatus(.connected) = $0 { true } else { false } }
            #expect(resumed == .connectionStatus(.connected(sessionID: sessionIDs[index] ?? "")), "the same session carries on")
            _ = try await clients[index].rpc(Reference.add, NumberInit(n: 1)).get()
        }

        // Heartbeats stop: every client's watchdog closes its connection.
        server.setBlackholed(true)
        try await forEach(clients.indices) { index in
            _ = try await waitForEvent(events[index]) {
                if case .connectionStatus(.disconnected(let reason)) = $0 { reason.contains("heartbeat") } else { false }
            }
        }
        server.setBlackholed(false)
    }

    /// Runs `body` for every index concurrently.
    private func forEach(_ indices: Range<Int>, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in indices { group.addTask { try await body(index) } }
            try await group.waitForAll()
        }
    }
}

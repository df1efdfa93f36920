import River
import RiverWebSocket
import Testing

@Suite("WebSocket closing", .timeLimit(.minutes(1)))
struct WebSocketCloseTests {
    @Test("the peer sees the close code and reason (client closes)")
    func clientCloseCodeAndReason() async throws {
        try await withConnectedPair { client, server in
            var clientEvents = client.events.makeAsyncIterator()
            var serverEvents = server.events.makeAsyncIterator()
            client.close(code: 4321, reason: "going away now")
            let serverSide = try await closure(&serverEvents)
            #expect(serverSide.code == 4321)
            #expect(serverSide.reason == "going away now")
            #expect(!serverSide.initiatedLocally)
            let clientSide = try await closure(&clientEvents)
            #expect(clientSide.code == 4321)
            #expect(clientSide.initiatedLocally)
        }
    }

    @Test("the peer sees the close code and reason (server closes)")
    func serverCloseCodeAndReason() async throws {
        try await withConnectedPair { client, server in
            var clientEvents = client.events.makeAsyncIterator()
            server.send([7])
            server.close(code: 1001, reason: "server shutting down")
            #expect(try await nextMessage(&clientEvents) == [7])
            let clientSide = try await closure(&clientEvents)
            #expect(clientSide.code == 1001)
            #expect(clientSide.reason == "server shutting down")
            #expect(!clientSide.initiatedLocally)
        }
    }

    @Test("abort is a drop without a code for the peer", arguments: [true, false])
    func abortIsADrop(clientAborts: Bool) async throws {
        try await withConnectedPair { client, server in
            var clientEvents = client.events.makeAsyncIterator()
            var serverEvents = server.events.makeAsyncIterator()
            client.send([1])
            #expect(try await nextMessage(&serverEvents) == [1])
            if clientAborts { client.abort() } else { server.abort() }
            let clientSide = try await closure(&clientEvents)
            let serverSide = try await closure(&serverEvents)
            #expect(clientSide.code == nil)
            #expect(serverSide.code == nil)
            #expect(clientSide.initiatedLocally == clientAborts)
            #expect(serverSide.initiatedLocally == !clientAborts)
        }
    }

    @Test("closing the listener drops its connections")
    func listenerCloseDropsConnections() async throws {
        let listener = try await WebSocketListener.bind()
        try await withTimeout {
            async let server = accept(listener)
            let client = try await WebSocketConnector(url: "ws://127.0.0.1:\(listener.port)/").connect(timeout: .seconds(5))
            _ = try await server
            var clientEvents = client.events.makeAsyncIterator()
            await listener.close()
            let clientSide = try await closure(&clientEvents)
            #expect(!clientSide.initiatedLocally)
        }
    }
}

import River
import RiverWebSocket
import Synchronization
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
            let client = try await WebSocketConnector(url: "ws://127.0.0.1:\(listener.port)/").connect(timeout: .seconds(30))
            _ = try await server
            var clientEvents = client.events.makeAsyncIterator()
            await listener.close()
            let clientSide = try await closure(&clientEvents)
            #expect(!clientSide.initiatedLocally)
        }
    }
}

@Suite("WebSocket resources", .timeLimit(.minutes(1)))
struct WebSocketResourceTests {
    /// Waits (yielding, never sleeping) until `condition` holds or `deadline` passes.
    private func eventually(within deadline: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
        let end = ContinuousClock.now + deadline
        while !condition() {
            if ContinuousClock.now > end { return false }
            await Task.yield()
        }
        return true
    }

    @Test("closed connections are released on both sides")
    func connectionsAreReleased() async throws {
        let listener = try await WebSocketListener.bind()
        let (client, server) = try await withTimeout {
            async let accepted = accept(listener)
            let client = try await WebSocketConnector(url: "ws://127.0.0.1:\(listener.port)/").connect(timeout: .seconds(30))
            let server = try await accepted
            var clientEvents = client.events.makeAsyncIterator()
            var serverEvents = server.events.makeAsyncIterator()
            client.send(pattern(count: 1000))
            #expect(try await nextMessage(&serverEvents).count == 1000)
            client.close(code: 1000, reason: "")
            _ = try await closure(&clientEvents)
            _ = try await closure(&serverEvents)
            return (WeakReference(client), WeakReference(server))
        }
        #expect(await eventually { client.isReleased }, "the client connection leaked")
        #expect(await eventually { server.isReleased }, "the server connection leaked")
        await listener.close()
    }
}

/// A weak reference that can leave a task.
final class WeakReference: Sendable {
    private struct Weak: Sendable {
        weak var object: (any AnyObject & Sendable)?
    }

    private let storage: Mutex<Weak>

    init(_ object: any AnyObject & Sendable) { storage = Mutex(Weak(object: object)) }

    /// Whether the object is gone.
    var isReleased: Bool { storage.withLock { $0.object == nil } }
}

@Suite("WebSocket listener lifetime", .timeLimit(.minutes(1)))
struct WebSocketListenerLifetimeTests {
    /// Binds a listener, accepts one connection from a new client, and releases the listener.
    private func connectThenReleaseListener() async throws -> (port: Int, client: any RiverConnection, server: WebSocketConnection) {
        let listener = try await WebSocketListener.bind()
        async let accepted = accept(listener)
        let client = try await WebSocketConnector(url: "ws://127.0.0.1:\(listener.port)/").connect(timeout: .seconds(30))
        return (listener.port, client, try await accepted)
    }

    @Test("a released listener stops listening but keeps its connections")
    func releasedListener() async throws {
        try await withTimeout {
            let (port, client, server) = try await connectThenReleaseListener()
            var events = server.events.makeAsyncIterator()
            // Eventually nothing listens on the port (the first attempts may race the close).
            var refused = false
            for _ in 0..<100 where !refused {
                do {
                    let late = try await WebSocketConnector(url: "ws://127.0.0.1:\(port)/").connect(timeout: .seconds(30))
                    late.abort()
                } catch let error as RiverConnectError {
                    refused = error.kind == .refused
                }
            }
            #expect(refused)
            client.send([42])
            #expect(try await nextMessage(&events) == [42])
            client.close(code: 1000, reason: "")
            #expect(try await closure(&events).code == 1000)
        }
    }
}

import River
import RiverTesting
import RiverWebSocket
import Synchronization
import Testing

/// What a handler given to `deliverEvents(to:)` saw, for the test to wait on.
final class Recorder: Sendable {
    private struct State {
        var messages: [[UInt8]] = []
        var closure: RiverConnectionClosure?
        var eventsAfterClose = 0
    }

    private let state = Mutex(State())
    let closed = OneShotSignal()

    func record(_ event: RiverConnectionEvent) {
        state.withLock { state in
            if state.closure != nil { state.eventsAfterClose += 1 }
            switch event {
            case .message(let bytes): state.messages.append(bytes)
            case .textMessage: break
            case .closed(let closure): state.closure = closure
            }
        }
        if case .closed = event { closed.raise() }
    }

    var messages: [[UInt8]] { state.withLock { $0.messages } }
    var closure: RiverConnectionClosure? { state.withLock { $0.closure } }
    var eventsAfterClose: Int { state.withLock { $0.eventsAfterClose } }
}

/// Raises `released` when deallocated (to see that a handler was let go).
private final class Token: Sendable {
    let released: OneShotSignal
    init(_ released: OneShotSignal) { self.released = released }
    deinit { released.raise() }
}

private func numbered(_ index: Int) -> [UInt8] {
    withUnsafeBytes(of: UInt32(index).bigEndian) { Array($0) }
}

@Suite("WebSocket callback delivery", .timeLimit(.minutes(1)))
struct WebSocketCallbackDeliveryTests {
    @Test("events that arrived before deliverEvents reach the handler first, in order, then .closed")
    func undeliveredEventsAreFlushedInOrder() async throws {
        try await withConnectedPair { client, server in
            var serverEvents = server.events.makeAsyncIterator()
            for index in 0..<100 { server.send(numbered(index)) }
            server.close(code: 1000, reason: "bye")
            // The server's close completes only after the client's service thread read every
            // message and the close frame: all of it now waits undelivered on the client.
            _ = try await closure(&serverEvents)

            let recorder = Recorder()
            let client = try #require(client as? any RiverFastPathConnection)
            #expect(client.deliverEvents { recorder.record($0) })
            await recorder.closed.wait()
            #expect(recorder.messages == (0..<100).map(numbered))
            #expect(recorder.closure?.code == 1000)
            #expect(recorder.closure?.reason == "bye")
            #expect(recorder.eventsAfterClose == 0)
        }
    }

    @Test("a handler replying from the I/O thread echoes 2,000 messages in order")
    func handlerRepliesFromTheServiceThread() async throws {
        try await withConnectedPair { client, server in
            #expect(server.deliverEvents { event in
                if case .message(let bytes) = event { server.send(bytes) }
            })
            var clientEvents = client.events.makeAsyncIterator()
            for index in 0..<2_000 { client.send(numbered(index)) }
            for index in 0..<2_000 {
                let bytes = try await nextMessage(&clientEvents)
                #expect(bytes == numbered(index))
                if bytes != numbered(index) { break }
            }
            client.close(code: 1000, reason: "")
            _ = try await closure(&clientEvents)
        }
    }

    @Test("the handler is released after .closed; events taken afterwards ends empty")
    func handlerIsReleasedAfterClose() async throws {
        try await withConnectedPair { client, server in
            let released = OneShotSignal()
            let recorder = Recorder()
            do {
                let token = Token(released)
                #expect(server.deliverEvents { event in
                    _ = token
                    recorder.record(event)
                })
            }
            // Taken after deliverEvents: it gets nothing and ends with the connection.
            let lateStream = server.events
            client.send([1])
            client.close(code: 1000, reason: "")
            await recorder.closed.wait()
            await released.wait()
            #expect(recorder.messages == [[1]])
            var late = lateStream.makeAsyncIterator()
            #expect(await late.next() == nil)
        }
    }

    @Test("deliverEvents after events was taken returns false; events keeps working")
    func deliverEventsAfterEventsIsRefused() async throws {
        try await withConnectedPair { client, server in
            var serverEvents = server.events.makeAsyncIterator()
            #expect(!server.deliverEvents { _ in Issue.record("the handler must not be called") })
            client.send([7])
            #expect(try await nextMessage(&serverEvents) == [7])
            client.close(code: 1000, reason: "")
            _ = try await closure(&serverEvents)
        }
    }

    @Test("in-memory connections have no fast path: callers read events")
    func inMemoryConnectionsUseTheStream() async throws {
        let (client, server) = InMemoryConnection.makePair()
        #expect(!((server as any RiverConnection) is any RiverFastPathConnection))
        var events = server.events.makeAsyncIterator()
        client.send([3])
        #expect(try await nextMessage(&events) == [3])
        client.close(code: 1000, reason: "")
    }
}

import Dispatch
import Foundation
import River
import RiverWebSocket
import Synchronization
import Testing

/// All connections of the process share one libwebsockets service thread: a connection whose
/// consumer falls behind must slow down only its own peer.
@Suite("WebSocket isolation", .timeLimit(.minutes(2)))
struct WebSocketIsolationTests {
    @Test("a flooded connection read slowly pauses only itself: another connection's round trips keep flowing")
    func slowConsumerDoesNotStallOthers() async throws {
        let messageSize = 1 << 20
        let total = 24
        let limit = 4 * messageSize
        let listener = try await WebSocketListener.bind()
        // The slow consumer's handler waits on this gate; it opens only at the end (or on failure,
        // so that a stalled run cannot hang the service thread for the rest of the process).
        let gate = DispatchSemaphore(value: 0)
        defer { for _ in 0..<total { gate.signal() } }
        try await withTimeout(.seconds(90)) {
            let connector = try WebSocketConnector(
                url: "ws://127.0.0.1:\(listener.port)/", configuration: .init(maximumMessageSize: 2 * messageSize))
            var accepted = listener.connections.makeAsyncIterator()
            let flooded = try #require(try await connector.connect(timeout: .seconds(10)) as? any RiverFastPathConnection)
            let floodServer = try #require(await accepted.next())
            let other = try await connector.connect(timeout: .seconds(10))
            let otherServer = try #require(await accepted.next())

            // The flooded client: a dispatcher like the River client's, with a handler that
            // takes each message only when the gate lets it.
            let paused = OneShotSignal()
            let allReceived = OneShotSignal()
            let receivedTags = Mutex<[Int]>([])
            let intact = Mutex(true)
            let dispatcher = ConnectionEventDispatcher(
                label: "slow consumer", maximumQueuedBytes: limit,
                pauseReceiving: { [weak flooded] pause in
                    flooded?.setReceivingPaused(pause)
                    if pause { paused.raise() }
                }
            ) { event in
                guard case .message(let bytes) = event else { return }
                gate.wait()
                let tag = Int(bytes.first ?? 0)
                // Filled with the tag (a cheap check in debug builds: first, middle, last and size).
                if bytes.count != messageSize || bytes[messageSize / 2] != UInt8(tag) || bytes.last != UInt8(tag) {
                    intact.withLock { $0 = false }
                }
                let count = receivedTags.withLock { tags in
                    tags.append(tag)
                    return tags.count
                }
                if count == total { allReceived.raise() }
            }
            #expect(flooded.deliverEvents(to: dispatcher.dispatch))
            for tag in 0..<total { floodServer.send([UInt8](repeating: UInt8(tag), count: messageSize)) }
            await paused.wait()

            // Meanwhile the other connection makes round trips through the same service thread.
            async let echoed: Void = {
                for await event in otherServer.events {
                    if case .message(let bytes) = event { otherServer.send(bytes) }
                }
            }()
            var events = other.events.makeAsyncIterator()
            for round in 0..<50 {
                let message = pattern(count: 100 + round, seed: UInt8(round))
                other.send(message)
                #expect(try await nextMessage(&events) == message)
            }
            // By now loopback would have carried all 24 MiB; reading was paused instead, so
            // the slow consumer's queue holds about its limit (plus what lws had read already).
            #expect(dispatcher.queuedBytes <= limit + 2 * messageSize, "\(dispatcher.queuedBytes) bytes queued")
            // Let the consumer go: reading resumes and every message arrives, in order, intact.
            for _ in 0..<total { gate.signal() }
            await allReceived.wait()
            #expect(receivedTags.withLock { $0 } == Array(0..<total))
            #expect(intact.withLock { $0 })

            other.close(code: 1000, reason: "")
            flooded.close(code: 1000, reason: "")
            await echoed
        }
        await listener.close()
    }
}

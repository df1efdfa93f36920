import River
import RiverWebSocket
import Synchronization
import Testing

@Suite("WebSocket owned delivery", .timeLimit(.minutes(1)))
struct WebSocketOwnedDeliveryTests {
    @Test("deliverOwnedEvents hands each message over: the I/O thread keeps no reference to it")
    func messagesAreHandedOver() async throws {
        try await withConnectedPair { client, server in
            let unique = Mutex<[Bool]>([])
            let done = OneShotSignal()
            let sizes = [100, 300_000, 3 << 20]
            let fastClient = try #require(client as? any RiverFastPathConnection)
            #expect(fastClient.deliverOwnedEvents { (event: consuming RiverConnectionEvent) in
                guard case .message(var bytes) = consume event else { return }
                // Writing into an array someone else still references would copy it first.
                let before = bytes.withUnsafeBytes { $0.baseAddress }
                let after = bytes.withUnsafeMutableBytes { UnsafeRawPointer($0.baseAddress) }
                let count = unique.withLock { seen in
                    seen.append(before == after)
                    return seen.count
                }
                if count == sizes.count { done.raise() }
            })
            for size in sizes { server.send([UInt8](repeating: 7, count: size)) }
            await done.wait()
            #expect(unique.withLock { $0 } == [true, true, true])
        }
    }
}

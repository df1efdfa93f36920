import River
@testable import RiverTestServer
import Testing

/// The test server's stream and subscriber bookkeeping at scale: cancelling a subscriber and
/// tearing a session down touch only what they remove, and fan-out reaches exactly the live
/// subscribers in subscription order. (Behaviour and storage bounds; no timing.)
@Suite
struct ServerBookkeepingTests {
    @Test
    func insertionOrderedSetKeepsOrderAndStaysCompact() {
        var set = InsertionOrderedSet<Int>()
        for i in 0..<10_000 { set.append(i) }
        set.append(5)  // already a member: no change
        #expect(set.count == 10_000)
        // Remove all but every 100th, from the middle outwards and back again.
        for i in stride(from: 9_999, through: 0, by: -1) where i % 100 != 0 { set.remove(i) }
        set.remove(123_456)  // not a member: no change
        #expect(set.count == 100)
        #expect(Array(set.members) == Array(stride(from: 0, to: 10_000, by: 100)))
        // Holes never outnumber members (plus a small constant): removal is amortised O(1).
        #expect(set.storageCount <= 2 * set.count + 17)
        #expect(set.contains(9_900) && !set.contains(9_901))
        set.append(7)
        #expect(Array(set.members).last == 7)
        for i in Array(set.members) { set.remove(i) }
        #expect(set.count == 0 && set.storageCount <= 17)
    }

    @Test(arguments: ServerTestCodec.allCases)
    func manySubscriptionsCancelAndFanOut(codec: ServerTestCodec) async throws {
        let total = 2_000
        try await withTestServer(codec) { server, harness in
            let (client, _) = try await connectedClient(harness)
            var subscriptions: [String] = []
            for _ in 0..<total {
                subscriptions.append(try client.open("subscribable", "value", closed: true))
            }
            for _ in 0..<total {
                let initial = try await client.nextMessage()
                #expect(initial.payload == ok(["count": 0]))
            }
            #expect(server.openStreamCount == total)

            // Cancel all but every 50th, newest first (the worst case for a front-to-back scan).
            let survivors = stride(from: 0, to: total, by: 50).map { subscriptions[$0] }
            for (index, id) in subscriptions.enumerated().reversed() where index % 50 != 0 {
                try client.cancel(stream: id)
            }
            for _ in 0..<(total - survivors.count) {
                let close = try await client.nextMessage()
                #expect(close.controlFlags == .streamClosed)
            }
            #expect(server.openStreamCount == survivors.count)

            // One update reaches exactly the survivors, in subscription order, before the result.
            let add = try client.open("subscribable", "add", initPayload: ["n": 1], closed: true)
            var updated: [String] = []
            for _ in 0..<survivors.count {
                let update = try await client.nextMessage()
                #expect(update.payload == ok(["count": 1]))
                updated.append(update.streamId)
            }
            #expect(updated == survivors)
            let result = try await client.nextMessage()
            #expect(result.streamId == add && result.payload == ok(["result": 1]))
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func sessionTeardownEndsOnlyItsOwnStreams(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { server, harness in
            let (kept, _) = try await connectedClient(harness)
            let (dropped, _) = try await connectedClient(harness)
            for _ in 0..<300 { try dropped.open("subscribable", "value", closed: true) }
            let keptSubscription = try kept.open("subscribable", "value", closed: true)
            _ = try await kept.nextMessage()
            try await waitUntil("all subscriptions are open") { server.openStreamCount == 301 }

            // A new session for the same client id replaces (destroys) the old one.
            let replacement = try await harness.connect(clientID: dropped.clientID)
            let newSession = RiverID.generateSessionID()
            #expect(try await replacement.handshake(sessionID: newSession) == .ok(sessionId: newSession))
            try await waitUntil("the old session's streams are gone") { server.openStreamCount == 1 }

            let add = try kept.open("subscribable", "add", initPayload: ["n": 2], closed: true)
            let update = try await kept.nextMessage()
            #expect(update.streamId == keptSubscription && update.payload == ok(["count": 2]))
            let result = try await kept.nextMessage()
            #expect(result.streamId == add)
        }
    }
}

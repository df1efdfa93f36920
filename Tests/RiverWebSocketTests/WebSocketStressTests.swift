import Foundation
import River
import RiverWebSocket
import Synchronization
import Testing

@Suite("WebSocket stress", .timeLimit(.minutes(2)))
struct WebSocketStressTests {
    /// 200 connections on the one service thread at once: every one carries rounds of
    /// heartbeat-like pings and pongs, then a cut from either side reaches every peer.
    ///
    /// Which client is which server's peer is learnt from the pings: clients connect in
    /// parallel, so the order connects finish in is not always the order of accepts (in about
    /// one run of twenty two neighbours swap), and cutting "the second half of the clients"
    /// then left one server waiting for a cut nobody made, with both sockets established.
    @Test("200 connections exchange pings and pongs, and every cut is detected")
    func manyConnections() async throws {
        let listener = try await WebSocketListener.bind(host: "127.0.0.1", port: 0)
        do {
            try await exchangeAndCut(listener: listener, count: 200, rounds: 5)
        } catch {
            await listener.close()
            throw error
        }
        await listener.close()
    }

    private func exchangeAndCut(listener: WebSocketListener, count: Int, rounds: Int) async throws {
        let connector = try WebSocketConnector(url: "ws://127.0.0.1:\(listener.port)")
        try await withTimeout(.seconds(60)) {
            let clients = try await withThrowingTaskGroup(of: (any RiverConnection).self) { group in
                for _ in 0..<count { group.addTask { try await connector.connect(timeout: .seconds(60)) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var servers: [WebSocketConnection] = []
            for await connection in listener.connections {
                servers.append(try #require(connection as? WebSocketConnection))
                if servers.count == count { break }
            }
            // Each client answers every ping with the same bytes and notes which server sent
            // it; each server side sends `rounds` pings, one after the other pong, like River's
            // heartbeats and replies. A ping is the server's index (two bytes) and the round.
            let pongs = Counter()
            let peers = PeerIndices(count: count)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (position, client) in clients.enumerated() {
                    group.addTask {
                        for await event in client.events {
                            guard case .message(let bytes) = event else { continue }
                            if bytes.count == 3 { peers.record(Int(bytes[0]) << 8 | Int(bytes[1]), at: position) }
                            client.send(bytes)
                        }
                    }
                }
                for (index, server) in servers.enumerated() {
                    group.addTask {
                        var events = server.events.makeAsyncIterator()
                        for round in 0..<rounds {
                            let ping = [UInt8(truncatingIfNeeded: index >> 8), UInt8(truncatingIfNeeded: index), UInt8(round)]
                            server.send(ping)
                            #expect(try await nextMessage(&events) == ping)
                            pongs.value.add(1, ordering: .relaxed)
                        }
                        // The first half is cut by the server, the rest by their clients.
                        if index < count / 2 {
                            server.abort()
                        } else {
                            _ = try await closure(&events)
                        }
                    }
                }
                for (position, client) in clients.enumerated() {
                    group.addTask {
                        try await waitUntil { pongs.value.load(ordering: .relaxed) == count * rounds }
                        if peers.index(at: position) >= count / 2 { client.abort() }
                    }
                }
                // Every client's event stream ends with its cut (the echo tasks return).
                try await group.waitForAll()
            }
            #expect(pongs.value.load(ordering: .relaxed) == count * rounds)
        }
    }
}

/// A count shared by the test's tasks.
private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

/// The index of each client's server peer, by the client's position (-1 until its first ping).
private final class PeerIndices: Sendable {
    private let indices: Mutex<[Int]>

    init(count: Int) {
        indices = Mutex([Int](repeating: -1, count: count))
    }

    func record(_ index: Int, at position: Int) {
        indices.withLock { $0[position] = index }
    }

    func index(at position: Int) -> Int {
        indices.withLock { $0[position] }
    }
}

/// Waits until `condition` holds, checking every few milliseconds (callers bound the wait with
/// ``withTimeout(_:_:)``).
private func waitUntil(_ condition: () -> Bool) async throws {
    while !condition() { try await Task.sleep(for: .milliseconds(5)) }
}

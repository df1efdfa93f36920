import Foundation
import River
import RiverWebSocket
import Testing

@Suite("WebSocket messaging", .timeLimit(.minutes(1)))
struct WebSocketMessagingTests {
    @Test("small messages travel both ways")
    func smallMessagesBothWays() async throws {
        try await withConnectedPair { client, server in
            var clientEvents = client.events.makeAsyncIterator()
            var serverEvents = server.events.makeAsyncIterator()
            client.send([1, 2, 3])
            #expect(try await nextMessage(&serverEvents) == [1, 2, 3])
            server.send([4, 5])
            #expect(try await nextMessage(&clientEvents) == [4, 5])
            client.send([])
            #expect(try await nextMessage(&serverEvents) == [])
            client.close(code: 1000, reason: "done")
            _ = try await closure(&clientEvents)
        }
    }

    @Test("enqueue arms the write once; one flush sends everything queued, in order with send")
    func enqueueAndFlush() async throws {
        try await withConnectedPair { client, server in
            var serverEvents = server.events.makeAsyncIterator()
            let client = try #require(client as? any RiverFastPathConnection)
            #expect(client.enqueue(RiverMessageBytes([1])))
            #expect(!client.enqueue(RiverMessageBytes([2])))
            client.send([3])  // joins the armed write without waking anything itself
            client.flush()
            var received: [[UInt8]] = []
            for _ in 0..<3 { received.append(try await nextMessage(&serverEvents)) }
            #expect(received == [[1], [2], [3]])
            // Once written, the next enqueue arms again.
            #expect(client.enqueue(RiverMessageBytes([4])))
            client.flush()
            let last = try await nextMessage(&serverEvents)
            #expect(last == [4])
            client.close(code: 1000, reason: "done")
        }
    }

    @Test("messages sent from other threads go out as soon as the I/O thread takes the request, without a writable callback")
    func writesOnRequestGoOutAtOnce() async throws {
        try await withConnectedPair { client, server in
            let clientConnection = try #require(client as? WebSocketConnection)
            var clientEvents = client.events.makeAsyncIterator()
            var serverEvents = server.events.makeAsyncIterator()
            // Every send here comes from this task, so each wakes the I/O thread with a request.
            for index in 0..<50 {
                client.send([UInt8(index)])
                #expect(try await nextMessage(&serverEvents) == [UInt8(index)])
                server.send([UInt8(index), 1])
                #expect(try await nextMessage(&clientEvents) == [UInt8(index), 1])
            }
            // Each one-message request went out as the I/O thread took it.
            #expect(clientConnection.writesOnRequest == 50)
            #expect(server.writesOnRequest == 50)
            client.close(code: 1000, reason: "done")
            _ = try await closure(&clientEvents)
        }
    }

    @Test("10,000 messages arrive in order, echoed back")
    func orderingOfManyMessages() async throws {
        try await withConnectedPair { client, server in
            let count = 10_000
            async let echo: Void = {
                for await event in server.events {
                    if case .message(let bytes) = event { server.send(bytes) }
                }
            }()
            var clientEvents = client.events.makeAsyncIterator()
            let start = ContinuousClock.now
            for index in 0..<count {
                withUnsafeBytes(of: UInt32(index).bigEndian) { client.send(Array($0) + pattern(count: 96)) }
            }
            for index in 0..<count {
                let bytes = try await nextMessage(&clientEvents)
                let number = bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) }
                #expect(number == index)
                if number != index { break }
            }
            let elapsed = ContinuousClock.now - start
            print("WebSocket loopback echo: \(count) messages of 100 bytes in \(elapsed)")
            client.close(code: 1000, reason: "")
            _ = try await closure(&clientEvents)
            await echo
        }
    }

    @Test("an 8 MiB message goes both ways as fragments and is reassembled")
    func largeMessage() async throws {
        try await withConnectedPair { client, server in
            var clientEvents = client.events.makeAsyncIterator()
            var serverEvents = server.events.makeAsyncIterator()
            let large = pattern(count: 8 * 1024 * 1024 + 17, seed: 7)
            client.send(large)
            client.send([9])
            let received = try await nextMessage(&serverEvents)
            #expect(received == large)
            let next = try await nextMessage(&serverEvents)
            #expect(next == [9])
            server.send(large)
            let echoed = try await nextMessage(&clientEvents)
            #expect(echoed == large)
        }
    }

    @Test("a message over the limit closes with 1009 on both sides")
    func maximumMessageSize() async throws {
        try await withConnectedPair(listener: .init(maximumMessageSize: 1024)) { client, server in
            var clientEvents = client.events.makeAsyncIterator()
            var serverEvents = server.events.makeAsyncIterator()
            client.send(pattern(count: 1024))
            #expect(try await nextMessage(&serverEvents).count == 1024)
            client.send(pattern(count: 1025))
            let serverSide = try await closure(&serverEvents)
            #expect(serverSide.code == 1009)
            #expect(serverSide.initiatedLocally)
            let clientSide = try await closure(&clientEvents)
            #expect(clientSide.code == 1009)
            #expect(!clientSide.initiatedLocally)
            #expect(clientSide.reason.contains("1024"))
        }
    }

    @Test("the client enforces its own limit too")
    func clientMaximumMessageSize() async throws {
        try await withConnectedPair(client: .init(maximumMessageSize: 100_000)) { client, server in
            var clientEvents = client.events.makeAsyncIterator()
            var serverEvents = server.events.makeAsyncIterator()
            server.send(pattern(count: 100_000))
            #expect(try await nextMessage(&clientEvents).count == 100_000)
            server.send(pattern(count: 300_000))
            // Refused from the frame header, before the payload is read: the consumer learns at once.
            let clientSide = try await closure(&clientEvents)
            #expect(clientSide.code == 1009 && clientSide.initiatedLocally && clientSide.cause == .frameTooLarge)
            // The client sends a 1009 close frame, but lws 4.1 drops the TCP connection with the
            // flood still unread, so a peer that is still sending may see a reset before the
            // close frame (a peer that stopped sending gets the frame: WebSocketRawServerTests).
            let serverSide = try await closure(&serverEvents)
            #expect(serverSide.code == 1009 || serverSide.code == nil, "\(serverSide)")
            #expect(!serverSide.initiatedLocally, "\(serverSide)")
        }
    }

    @Test("messages sent after close are discarded; close is idempotent")
    func sendAfterClose() async throws {
        try await withConnectedPair { client, server in
            var clientEvents = client.events.makeAsyncIterator()
            var serverEvents = server.events.makeAsyncIterator()
            client.send([1])
            client.close(code: 4000, reason: "bye")
            client.close(code: 4001, reason: "again")
            client.send([2])
            #expect(try await nextMessage(&serverEvents) == [1])
            let serverSide = try await closure(&serverEvents)
            #expect(serverSide.code == 4000)
            let clientSide = try await closure(&clientEvents)
            #expect(clientSide.code == 4000 && clientSide.initiatedLocally)
        }
    }
}

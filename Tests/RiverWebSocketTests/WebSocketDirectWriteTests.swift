import Foundation
import River
@testable import RiverWebSocket
import Testing

/// A plain connection writes its batches of frames to the socket itself, whole (lws' write
/// sends 64 KiB and copies the rest), and sends what the socket did not take before anything
/// else.
@Suite("WebSocket direct writes", .timeLimit(.minutes(1)))
struct WebSocketDirectWriteTests {
    static let messages = [pattern(count: 6 << 20, seed: 1), pattern(count: (1 << 20) + 3, seed: 2), pattern(count: 10, seed: 3)]

    /// This process's socket connected to a peer on local port `port` (the listener's side of
    /// the one connection it accepted), found by asking every descriptor for its addresses.
    static func acceptedSocket(port: Int) -> Int32? {
        for fd in Int32(3)..<Int32(4096) {
            var local = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0, local.sin_family == sa_family_t(AF_INET), Int(UInt16(bigEndian: local.sin_port)) == port else { continue }
            var peer = sockaddr_in()
            var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let connected = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &peerLength) }
            }
            if connected == 0 { return fd }
        }
        return nil
    }

    /// A listener's connection to a raw client whose receive buffer is 16 KiB, the server's
    /// send buffer 64 KiB (smaller than a batch), handed to `body`.
    static func withSlowReader(_ body: @escaping @Sendable (RawWebSocketClient, WebSocketConnection) async throws -> Void) async throws {
        let listener = try await WebSocketListener.bind()
        do {
            try await withTimeout(.seconds(40)) {
                async let accepted = accept(listener)
                let peer = try await RawWebSocketClient(port: listener.port, receiveBuffer: 16 * 1024)
                defer { peer.close() }
                let server = try await accepted
                var size: Int32 = 64 * 1024
                let fd = try #require(acceptedSocket(port: listener.port))
                #expect(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size)) == 0)
                try await body(peer, server)
            }
        } catch {
            await listener.close()
            throw error
        }
        await listener.close()
    }

    /// Reads frames until every one of ``messages`` and one pong carrying `[4, 2]` arrived.
    static func readMessagesAndPong(_ peer: RawWebSocketClient) async throws {
        var data: [[UInt8]] = []
        var pongs = 0
        while data.count < messages.count || pongs == 0 {
            let frame = try await peer.readFrame()
            #expect(frame.fin && !frame.masked)
            switch frame.opcode {
            case 0x2: data.append(frame.payload)
            case 0xA:
                #expect(frame.payload == [4, 2])
                pongs += 1
            default: Issue.record("unexpected opcode \(frame.opcode)")
            }
        }
        #expect(data == messages)
        #expect(pongs == 1)
    }

    @Test("what the socket did not take goes first once it drains: big messages to a peer that reads late arrive whole and in order, a pong between frames")
    func partlyTakenWritesArriveWhole() async throws {
        let partialBefore = WebSocketWriteStatistics.partialDirectWrites
        try await Self.withSlowReader { peer, server in
            for message in Self.messages { server.send(message) }
            // The peer reads nothing yet: once the socket is full, a batch is left partly
            // unsent (the deadline of `withSlowReader` bounds the wait).
            while WebSocketWriteStatistics.partialDirectWrites == partialBefore {
                try Task.checkCancellation()
                await Task.yield()
            }
            try await peer.sendFrame(opcode: 0x9, fin: true, payload: [4, 2])
            try await Self.readMessagesAndPong(peer)
        }
    }

    @Test("a batch goes to the socket in one write: 7 MiB in 256 KiB batches, never left to lws' 64 KiB pieces")
    func batchesAreWrittenWhole() async throws {
        let directBefore = WebSocketWriteStatistics.framesWrittenDirectly
        try await WebSocketListenerFramingTests.withRawPeer { peer, server in
            for message in Self.messages { server.send(message) }
            try await peer.sendFrame(opcode: 0x9, fin: true, payload: [4, 2])
            try await Self.readMessagesAndPong(peer)
        }
        #expect(WebSocketWriteStatistics.framesWrittenDirectly - directBefore >= 28)
    }
}

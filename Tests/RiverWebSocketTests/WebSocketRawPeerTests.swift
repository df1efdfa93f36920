import Foundation
import River
import RiverTestProcess
import RiverWebSocket
import Testing

/// Tests against a hand-written WebSocket client (plain blocking socket, frames built here), so
/// the listener is checked against bytes that libwebsockets did not produce itself.
@Suite("WebSocket raw peer", .timeLimit(.minutes(1)))
struct WebSocketRawPeerTests {
    @Test("text frames arrive as .textMessage; fragmented binary frames are reassembled")
    func textAndFragments() async throws {
        let listener = try await WebSocketListener.bind()
        try await withTimeout {
            async let accepted = accept(listener)
            let peer = try await RawWebSocketClient(port: listener.port)
            let server = try await accepted
            var events = server.events.makeAsyncIterator()

            try await peer.sendFrame(opcode: 0x1, fin: true, payload: Array("hello".utf8))
            let text = try await nextEvent(&events)
            guard case .textMessage(let bytes) = text else {
                Issue.record("expected a text message, got \(text)")
                return
            }
            #expect(String(decoding: bytes, as: UTF8.self) == "hello")

            let whole = pattern(count: 70_000, seed: 3)
            try await peer.sendFrame(opcode: 0x2, fin: false, payload: Array(whole[0..<100]))
            try await peer.sendFrame(opcode: 0x0, fin: false, payload: Array(whole[100..<65_000]))
            try await peer.sendFrame(opcode: 0x0, fin: true, payload: Array(whole[65_000...]))
            let reassembled = try await nextMessage(&events)
            #expect(reassembled == whole)

            // A close frame with code 4000 and a reason.
            try await peer.sendFrame(opcode: 0x8, fin: true, payload: [0x0F, 0xA0] + Array("raw bye".utf8))
            let closed = try await closure(&events)
            #expect(closed.code == 4000)
            #expect(closed.reason == "raw bye")
            peer.close()
        }
        await listener.close()
    }

    @Test("server messages arrive as unmasked binary frames, in order; a big one as one frame")
    func serverFrames() async throws {
        let listener = try await WebSocketListener.bind()
        try await withTimeout {
            async let accepted = accept(listener)
            let peer = try await RawWebSocketClient(port: listener.port)
            let server = try await accepted
            let small = (0..<200).map { pattern(count: $0 % 130, seed: UInt8($0 % 251)) }
            let big = pattern(count: 300_000, seed: 5)
            for message in small { server.send(message) }
            server.send(big)
            for message in small {
                let frame = try await peer.readFrame()
                #expect(frame.fin && frame.opcode == 0x2 && !frame.masked)
                #expect(frame.payload == message)
            }
            // One frame, written 256 KiB at a time: the peer learns the size from its header.
            let whole = try await peer.readFrame()
            #expect(whole.fin && whole.opcode == 0x2 && !whole.masked)
            #expect(whole.payload == big)
            peer.close()
        }
        await listener.close()
    }

    @Test("a ping that arrives while a big message's frame is partly sent is answered after that frame, not inside it")
    func pongAfterPartlySentFrame() async throws {
        let listener = try await WebSocketListener.bind()
        try await withTimeout {
            async let accepted = accept(listener)
            let peer = try await RawWebSocketClient(port: listener.port)
            let server = try await accepted
            // Sixteen writes of 256 KiB while the peer reads nothing: the frame is still going
            // out when the ping arrives (without the wait, the pong landed inside it in 3 of 3
            // runs).
            let big = pattern(count: 4 << 20, seed: 9)
            server.send(big)
            server.send([1, 2, 3])
            try await peer.sendFrame(opcode: 0x9, fin: true, payload: [7, 7])
            // The pong goes before the big frame (when the ping was read before it started) or
            // after it, never inside it: three whole frames, the messages in order.
            var frames: [(fin: Bool, opcode: UInt8, payload: [UInt8])] = []
            for _ in 0..<3 {
                let frame = try await peer.readFrame()
                frames.append((frame.fin, frame.opcode, frame.payload))
            }
            #expect(frames.allSatisfy { $0.fin })
            #expect(frames.filter { $0.opcode == 0xA }.map { $0.payload } == [[7, 7]])
            #expect(frames.filter { $0.opcode == 0x2 }.map { $0.payload } == [big, [1, 2, 3]])
            peer.close()
        }
        await listener.close()
    }
}

/// A minimal WebSocket client over a plain socket: upgrade handshake and masked frames (or, to
/// test the server's refusals, any bytes at all), nothing else. Reads time out after 5 s.
///
/// Every call that can wait on the peer is `async` and does its blocking socket I/O on a thread
/// of its own (``OwnThread``), never on a thread of the cooperative pool the other tests share.
final class RawWebSocketClient: Sendable {
    private let fd: Int32

    /// The mask key of every frame ``sendFrame(opcode:fin:payload:masked:)`` sends.
    static let maskKey: [UInt8] = [0x12, 0x34, 0x56, 0x78]

    /// Connects over TCP and says nothing yet.
    init(connectingTo port: Int) async throws {
        fd = try await OwnThread.run { try Self.connectedSocket(port: port) }
    }

    /// Connects and upgrades: a `GET` for `path` with RFC 6455 §1.3's example key, then the
    /// `headers` lines, and `firstBytes` (frames) in the same write as the request.
    /// - Throws: Unless the server answers `101` with the example key's accept value.
    convenience init(port: Int, path: String = "/raw", headers: [String] = [], firstBytes: [UInt8] = []) async throws {
        try await self.init(connectingTo: port)
        do {
            let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + headers.map { $0 + "\r\n" }.joined() + "\r\n"
            try await send(Array(request.utf8) + firstBytes)
            let head = try await readHead()
            guard head.hasPrefix("HTTP/1.1 101"), head.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") else {
                throw POSIXError(.EPROTO)
            }
        } catch {
            close()
            throw error
        }
    }

    /// A TCP socket connected to 127.0.0.1:`port`, its reads timing out after 5 s.
    private static func connectedSocket(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Foundation.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        return fd
    }

    /// Sends one frame, masked with ``maskKey`` unless `masked` is `false`.
    func sendFrame(opcode: UInt8, fin: Bool, payload: [UInt8], masked: Bool = true) async throws {
        try await send(ServerFrame.frame(opcode: opcode, fin: fin, payload: payload, maskKey: masked ? Self.maskKey : nil))
    }

    /// Reads an HTTP head up to and including its blank line, byte by byte.
    func readHead() async throws -> String {
        try await OwnThread.run { [fd] in
            var head: [UInt8] = []
            var byte: UInt8 = 0
            while !head.ends(with: Array("\r\n\r\n".utf8)) {
                guard read(fd, &byte, 1) == 1 else { throw POSIXError(.EPROTO) }
                head.append(byte)
            }
            return String(decoding: head, as: UTF8.self)
        }
    }

    /// Reads everything until the server closes its side (end of file).
    /// - Throws: When the read times out (the server kept the socket open) or fails.
    func waitUntilClosed() async throws -> [UInt8] {
        try await OwnThread.run { [fd] in
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let got = read(fd, &chunk, chunk.count)
                if got == 0 { return bytes }
                guard got > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                bytes += chunk[0..<got]
            }
        }
    }

    /// Reads one frame from the server (5 s timeout per read).
    func readFrame() async throws -> (fin: Bool, opcode: UInt8, masked: Bool, payload: [UInt8]) {
        try await OwnThread.run { [fd] in
            let header = try Self.readExactly(fd, 2)
            var length = Int(header[1] & 0x7F)
            if length == 126 {
                length = try Self.readExactly(fd, 2).reduce(0) { $0 << 8 | Int($1) }
            } else if length == 127 {
                length = try Self.readExactly(fd, 8).reduce(0) { $0 << 8 | Int($1) }
            }
            let masked = header[1] & 0x80 != 0
            let key = masked ? try Self.readExactly(fd, 4) : []
            var payload = try Self.readExactly(fd, length)
            if masked { for index in payload.indices { payload[index] ^= key[index % 4] } }
            return (header[0] & 0x80 != 0, header[0] & 0x0F, masked, payload)
        }
    }

    private static func readExactly(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes[offset...].withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard got > 0 else { throw POSIXError(.EPIPE) }
            offset += got
        }
        return bytes
    }

    /// Writes `bytes` as they are (a closed socket fails the write rather than raising SIGPIPE).
    func send(_ bytes: [UInt8]) async throws {
        try await OwnThread.run { [fd] in
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard written > 0 else { throw POSIXError(.EPIPE) }
                offset += written
            }
        }
    }

    func close() {
        Foundation.close(fd)
    }
}

extension Array where Element: Equatable {
    fileprivate func ends(with suffix: [Element]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}

/// A server written by hand that announces frames larger than the client accepts.
@Suite("WebSocket raw server", .timeLimit(.minutes(1)))
struct WebSocketRawServerTests {
    @Test("a frame header announcing 2^62 bytes closes the connection with 1009 at once, as frameTooLarge")
    func announcedFrameTooLarge() async throws {
        // FIN + binary, 127 = 64-bit length, 2^62, then only 16 payload bytes: the rest never comes.
        let header: [UInt8] = [0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 0]
        let server = try RawServer(.webSocket(then: header + [UInt8](repeating: 7, count: 16)))
        defer { server.close() }
        try await withTimeout(.seconds(10)) {
            let client = try await WebSocketConnector(url: "ws://127.0.0.1:\(server.port)/").connect(timeout: .seconds(5))
            var events = client.events.makeAsyncIterator()
            let closed = try await closure(&events)
            #expect(closed.code == 1009, "\(closed)")
            #expect(closed.cause == .frameTooLarge, "\(closed)")
            #expect(closed.initiatedLocally)
            // The peer gets a close frame with 1009 (message too big).
            let frame = await server.firstClientFrame()
            #expect(frame.opcode == 0x8)
            #expect(frame.payload.prefix(2) == [0x03, 0xF1], "\(frame.payload)")
        }
    }

    @Test("a frame header announcing one byte over the limit is refused before any payload; one at the limit is accepted")
    func announcedLengthAgainstTheLimit() async throws {
        let limit = 1000
        func frame(length: Int) -> [UInt8] {
            [0x82, 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        }
        let atLimit = try RawServer(.webSocket(then: frame(length: limit) + [UInt8](repeating: 1, count: limit)))
        // Over the limit by one, and no payload byte ever arrives.
        let overLimit = try RawServer(.webSocket(then: frame(length: limit + 1)))
        defer {
            atLimit.close()
            overLimit.close()
        }
        try await withTimeout(.seconds(10)) {
            let configuration = WebSocketConnector.Configuration(maximumMessageSize: limit)
            let accepted = try await WebSocketConnector(url: "ws://127.0.0.1:\(atLimit.port)/", configuration: configuration)
                .connect(timeout: .seconds(5))
            var acceptedEvents = accepted.events.makeAsyncIterator()
            #expect(try await nextMessage(&acceptedEvents) == [UInt8](repeating: 1, count: limit))
            accepted.close(code: 1000, reason: "")

            let refused = try await WebSocketConnector(url: "ws://127.0.0.1:\(overLimit.port)/", configuration: configuration)
                .connect(timeout: .seconds(5))
            var refusedEvents = refused.events.makeAsyncIterator()
            let closed = try await closure(&refusedEvents)
            #expect(closed.code == 1009 && closed.cause == .frameTooLarge, "\(closed)")
        }
    }
}

import Foundation
import River
import RiverWebSocket
import Synchronization
import Testing

/// A hand-written TCP server on 127.0.0.1 (port 0) that misbehaves on purpose, so the client can
/// be checked against peers libwebsockets would never be.
///
/// Each accepted socket is handled on a thread of its own by ``Behaviour``; with ``Behaviour/silent``
/// nothing is ever accepted (the kernel's listen backlog completes the TCP handshake).
final class RawServer: Sendable {
    /// What the server does with each connection.
    enum Behaviour: Sendable {
        /// Never accepts: the TCP handshake completes and nothing is ever said.
        case silent
        /// Accepts, reads the request (raising ``requestReceived()``) and never answers.
        case hold
        /// Reads the request and writes `answer` (for example a non-101 HTTP status), then closes.
        case answer(String)
        /// Reads the request and resets the connection (a close with `SO_LINGER` 0 sends RST).
        case reset
        /// Completes the WebSocket upgrade, writes `bytes` (raw frames) and keeps the socket open
        /// until the client goes away, recording the frames the client sends
        /// (``firstClientFrame()``, ``clientWentAway()``). With `answerClose`, a close frame from
        /// the client is answered with one carrying the same code (and the socket stays open
        /// until the client drops it).
        case webSocket(then: [UInt8], answerClose: Bool = false)
        /// Completes the WebSocket upgrade, answers the River handshake request (JSON codec) the
        /// client sends first with an ok response, then writes `bytes` (raw frames) and holds the
        /// socket like ``webSocket(then:answerClose:)``.
        case riverHandshake(then: [UInt8])
    }

    let port: Int
    private let fd: Int32
    private let clientFrame = Mutex<(opcode: UInt8, payload: [UInt8])?>(nil)
    private let clientFrameArrived = OneShotSignal()
    private let requestArrived = OneShotSignal()
    private let clientGone = OneShotSignal()
    /// Every whole frame clients sent after the upgrade, in order.
    private let clientFrames: AsyncStream<(opcode: UInt8, payload: [UInt8])>
    private let clientFramesInput: AsyncStream<(opcode: UInt8, payload: [UInt8])>.Continuation

    /// Returns once a client's upgrade request has been read.
    func requestReceived() async {
        await requestArrived.wait()
    }

    /// The first frame a client sent after the upgrade (unmasked), once one arrived in full.
    func firstClientFrame() async -> (opcode: UInt8, payload: [UInt8]) {
        await clientFrameArrived.wait()
        return clientFrame.withLock { $0 } ?? (0, [])
    }

    /// Returns once a client sent a close frame carrying `code` after the upgrade (on any of its
    /// connections; other frames are skipped), or `false` when the server closed first. One
    /// caller at a time.
    func clientSentClose(code: UInt16) async -> Bool {
        for await frame in clientFrames where frame.opcode == 0x8 && frame.payload.prefix(2).elementsEqual([UInt8(code >> 8), UInt8(code & 0xFF)]) {
            return true
        }
        return false
    }

    /// Returns once a client that upgraded closed its side of the socket (the server read EOF).
    func clientWentAway() async {
        await clientGone.wait()
    }

    init(_ behaviour: Behaviour) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            Foundation.close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        (clientFrames, clientFramesInput) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        if case .silent = behaviour { return }
        Thread {
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }  // the listening socket was closed
                Thread { [self] in serve(client, behaviour) }.start()
            }
        }.start()
    }

    private func serve(_ client: Int32, _ behaviour: Behaviour) {
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Self.readRequest(client)
        requestArrived.raise()
        switch behaviour {
        case .silent:
            break
        case .hold:
            var sink = [UInt8](repeating: 0, count: 4096)
            while read(client, &sink, sink.count) > 0 {}
        case .answer(let answer):
            Self.writeAll(client, Array(answer.utf8))
        case .reset:
            var linger = Foundation.linger(l_onoff: 1, l_linger: 0)
            setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Foundation.linger>.size))
        case .webSocket(let bytes, let answerClose):
            Self.writeAll(client, Self.upgradeResponse(to: request) + bytes)
            holdWebSocket(client, answerClose: answerClose)
        case .riverHandshake(let bytes):
            Self.writeAll(client, Self.upgradeResponse(to: request))
            var received: [UInt8] = []
            guard let frame = Self.readClientFrame(client, &received), let reply = Self.handshakeReply(to: frame.payload) else { break }
            Self.writeAll(client, reply + bytes)
            holdWebSocket(client, answerClose: false, received: received)
        }
        Foundation.close(client)
    }

    /// The `101` answer to `request`, accepting its key.
    private static func upgradeResponse(to request: String) -> [UInt8] {
        let key = request.split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("sec-websocket-key:") }
            .map { $0.dropFirst("sec-websocket-key:".count).trimmingCharacters(in: .whitespaces) } ?? ""
        let accept = WebSocketClientHandshake.acceptValue(forKey: key)
        return Array(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: \(accept)\r\n\r\n").utf8)
    }

    /// Reads the client's frames until it goes away, recording the first, answering a close frame
    /// when `answerClose`. `received` holds bytes already read after the upgrade.
    private func holdWebSocket(_ client: Int32, answerClose: Bool, received: [UInt8] = []) {
        var received = received
        var closeAnswered = false
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            while let (frame, length) = Self.parseMaskedFrame(received) {
                received.removeFirst(length)
                clientFrame.withLock { if $0 == nil { $0 = frame } }
                clientFrameArrived.raise()
                clientFramesInput.yield(frame)
                if answerClose, frame.opcode == 0x8, !closeAnswered {
                    closeAnswered = true
                    Self.writeAll(client, [0x88, UInt8(min(frame.payload.count, 2))] + frame.payload.prefix(2))
                }
            }
            let count = read(client, &chunk, chunk.count)
            guard count > 0 else { break }
            received += chunk[0..<count]
        }
        clientGone.raise()
    }

    /// Reads until one whole masked client frame arrived; `nil` if the client went away first.
    private static func readClientFrame(_ client: Int32, _ received: inout [UInt8]) -> (opcode: UInt8, payload: [UInt8])? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let (frame, length) = parseMaskedFrame(received) {
                received.removeFirst(length)
                return frame
            }
            let count = read(client, &chunk, chunk.count)
            guard count > 0 else { return nil }
            received += chunk[0..<count]
        }
    }

    /// The first whole masked client frame in `bytes` and its size in bytes (7- and 16-bit
    /// lengths only).
    private static func parseMaskedFrame(_ bytes: [UInt8]) -> (frame: (opcode: UInt8, payload: [UInt8]), length: Int)? {
        guard bytes.count >= 2, bytes[1] & 0x80 != 0 else { return nil }
        var length = Int(bytes[1] & 0x7F)
        var offset = 2
        if length == 127 { return nil }
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        }
        guard length < 65_536, bytes.count >= offset + 4 + length else { return nil }
        let key = bytes[offset..<offset + 4]
        let payload = (0..<length).map { bytes[offset + 4 + $0] ^ key[key.startIndex + $0 % 4] }
        return ((bytes[0] & 0x0F, payload), offset + 4 + length)
    }

    /// An unmasked binary frame with the ok answer to the River handshake request in `payload`
    /// (JSON), or `nil` when it is not one.
    private static func handshakeReply(to payload: [UInt8]) -> [UInt8]? {
        let codec = JSONCodec()
        guard let message = try? codec.decode(payload),
            case .handshakeRequest(let request)? = try? ControlPayload.parse(message.payload)
        else { return nil }
        let reply = TransportMessage(
            id: RiverID.generate(), from: "SERVER", to: message.from, seq: 0, ack: 0, streamId: message.streamId,
            controlFlags: [], payload: ControlPayload.handshakeResponse(.ok(sessionId: request.sessionId)).value)
        guard let bytes = try? codec.encode(reply), bytes.count < 65_536 else { return nil }
        let length: [UInt8] = bytes.count < 126 ? [UInt8(bytes.count)] : [126, UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)]
        return [0x82] + length + bytes
    }

    /// Reads up to the blank line that ends the request headers.
    private static func readRequest(_ client: Int32) -> String {
        var request: [UInt8] = []
        var byte: UInt8 = 0
        while !request.suffix(4).elementsEqual("\r\n\r\n".utf8), read(client, &byte, 1) == 1 {
            request.append(byte)
        }
        return String(decoding: request, as: UTF8.self)
    }

    private static func writeAll(_ client: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            offset += written
        }
    }

    func close() {
        clientFramesInput.finish()
        shutdown(fd, Int32(SHUT_RDWR))
        Foundation.close(fd)
    }
}

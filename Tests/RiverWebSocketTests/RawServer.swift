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
        /// until the client goes away, recording the first frame the client sends
        /// (``firstClientFrame``).
        case webSocket(then: [UInt8])
    }

    let port: Int
    private let fd: Int32
    private let clientFrame = Mutex<(opcode: UInt8, payload: [UInt8])?>(nil)
    private let clientFrameArrived = OneShotSignal()
    private let requestArrived = OneShotSignal()

    /// Returns once a client's upgrade request has been read.
    func requestReceived() async {
        await requestArrived.wait()
    }

    /// The first frame a client sent after the upgrade (unmasked), once one arrived in full.
    func firstClientFrame() async -> (opcode: UInt8, payload: [UInt8]) {
        await clientFrameArrived.wait()
        return clientFrame.withLock { $0 } ?? (0, [])
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
        case .webSocket(let bytes):
            let key = request.split(separator: "\r\n")
                .first { $0.lowercased().hasPrefix("sec-websocket-key:") }
                .map { $0.dropFirst("sec-websocket-key:".count).trimmingCharacters(in: .whitespaces) } ?? ""
            let accept = WebSocketClientHandshake.acceptValue(forKey: key)
            let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(accept)\r\n\r\n"
            Self.writeAll(client, Array(response.utf8) + bytes)
            // Hold the socket until the client goes away (read returns 0 or fails).
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(client, &chunk, chunk.count)
                guard count > 0 else { break }
                received += chunk[0..<count]
                if let frame = Self.parseMaskedFrame(received) {
                    clientFrame.withLock { if $0 == nil { $0 = frame } }
                    clientFrameArrived.raise()
                }
            }
        }
        Foundation.close(client)
    }

    /// The first whole masked client frame in `bytes` (short lengths only: control frames).
    private static func parseMaskedFrame(_ bytes: [UInt8]) -> (opcode: UInt8, payload: [UInt8])? {
        guard bytes.count >= 6, bytes[1] & 0x80 != 0 else { return nil }
        let length = Int(bytes[1] & 0x7F)
        guard length < 126, bytes.count >= 6 + length else { return nil }
        let key = bytes[2..<6]
        let payload = (0..<length).map { bytes[6 + $0] ^ key[key.startIndex + $0 % 4] }
        return (bytes[0] & 0x0F, payload)
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
        shutdown(fd, Int32(SHUT_RDWR))
        Foundation.close(fd)
    }
}

import Foundation
import River
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
            let accept = Data(SHA1.digest(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
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

/// SHA-1 (FIPS 180-4), only for the WebSocket accept key of ``RawServer``.
enum SHA1 {
    static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var padded = message + [0x80]
        while padded.count % 64 != 56 { padded.append(0) }
        let bitLength = UInt64(message.count) * 8
        padded += (0..<8).reversed().map { UInt8(truncatingIfNeeded: bitLength >> ($0 * 8)) }
        for chunk in stride(from: 0, to: padded.count, by: 64) {
            var w = (0..<16).map { index in
                (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(padded[chunk + index * 4 + $1]) }
            }
            for index in 16..<80 {
                let value = w[index - 3] ^ w[index - 8] ^ w[index - 14] ^ w[index - 16]
                w.append(value << 1 | value >> 31)
            }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for index in 0..<80 {
                let (f, k): (UInt32, UInt32) = switch index {
                case 0..<20: ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (b ^ c ^ d, 0xCA62_C1D6)
                }
                let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[index]
                (e, d, c, b, a) = (d, c, b << 30 | b >> 2, a, temp)
            }
            h[0] = h[0] &+ a
            h[1] = h[1] &+ b
            h[2] = h[2] &+ c
            h[3] = h[3] &+ d
            h[4] = h[4] &+ e
        }
        return h.flatMap { word in (0..<4).reversed().map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
    }
}

@Suite("Raw server support")
struct RawServerSupportTests {
    @Test("SHA-1 matches RFC 6455's example accept key")
    func acceptKey() {
        let accept = Data(SHA1.digest(Array("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11".utf8)))
        #expect(accept.base64EncodedString() == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}

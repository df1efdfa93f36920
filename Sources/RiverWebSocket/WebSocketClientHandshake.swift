#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import River

/// The client's side of the WebSocket opening handshake (RFC 6455 §4.1), as a plain value: the
/// upgrade request to write, then the server's response fed in as it arrives until it is
/// accepted or refused.
///
/// libwebsockets only carries the bytes (a raw client connection: TCP, TLS, DNS); the request,
/// the response's checks and the frames after it are River's own, so that received payload is
/// copied in blocks instead of through lws 4.1's per-byte client parser.
package struct WebSocketClientHandshake {
    /// How the server's response ended the handshake.
    package enum Outcome: Equatable {
        /// The response's header block is not complete yet.
        case incomplete
        /// `101 Switching Protocols` with the right accept key; the first `consumed` bytes of
        /// the last input were the response, the rest are already frames.
        case accepted(consumed: Int)
        /// Anything else: the connect fails with this error.
        case refused(Refusal)
    }

    /// Why the response did not open the WebSocket.
    package struct Refusal: Equatable {
        /// The HTTP status the server answered with, when the status line could be read.
        package var status: Int?
        /// What was wrong, for the error message.
        package var reason: String
    }

    /// The `Sec-WebSocket-Key` this handshake sent (16 random bytes, base64).
    package let key: String
    private var response = HTTPHeadReader(maximumSize: WebSocketClientHandshake.maximumResponseSize)
    private var finished = false

    /// The most a response's status line and headers may take.
    package static let maximumResponseSize = 16 * 1024

    /// The GUID RFC 6455 appends to the key before hashing it.
    private static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// - Parameter key: The key to send; by default 16 bytes from the system's random source.
    package init(key: String = WebSocketClientHandshake.randomKey()) {
        self.key = key
    }

    /// A fresh `Sec-WebSocket-Key`.
    package static func randomKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }

    /// The `Sec-WebSocket-Accept` value a server must answer `key` with.
    package static func acceptValue(forKey key: String) -> String {
        Data(SHA1.digest(Array((key + acceptGUID).utf8))).base64EncodedString()
    }

    /// The upgrade request.
    /// - Parameters:
    ///   - path: Path and query, starting with `/`.
    ///   - host: The `Host` header value (also sent as `Origin`, as libwebsockets' own client did).
    ///   - headers: Extra headers, in order.
    package func request(path: String, host: String, headers: [(name: String, value: String)]) -> [UInt8] {
        var text = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\nOrigin: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Takes the next bytes of the server's response.
    /// - Returns: ``Outcome/incomplete`` until the blank line that ends the headers arrived, then
    ///   the verdict (once; feeding more afterwards is a programming error and reports the
    ///   verdict's bytes as consumed again).
    package mutating func receive(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        guard !finished else { return .refused(Refusal(status: nil, reason: "the handshake already ended")) }
        switch response.append(bytes) {
        case .incomplete:
            return .incomplete
        case .tooLarge:
            finished = true
            return .refused(Refusal(status: nil, reason: "the response headers exceed \(Self.maximumResponseSize) bytes"))
        case .complete(let head, let consumed):
            finished = true
            if let refusal = check(head) { return .refused(refusal) }
            return .accepted(consumed: consumed)
        }
    }

    /// Checks a complete response head; `nil` when it opens the WebSocket.
    private func check(_ head: String) -> Refusal? {
        var lines = head.components(separatedBy: "\r\n").makeIterator()
        let statusLine = lines.next() ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            return Refusal(status: nil, reason: "the response is not HTTP: \(statusLine.prefix(80).debugDescription)")
        }
        guard status == 101 else {
            let text = parts.count > 2 ? " \(parts[2])" : ""
            return Refusal(status: status, reason: "HTTP \(status)\(text)")
        }
        var headers: [String: String] = [:]
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingWhitespace().lowercased()
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            headers[name] = headers[name].map { "\($0), \(value)" } ?? value
        }
        guard headers["upgrade"]?.lowercased() == "websocket" else {
            return Refusal(status: status, reason: "the 101 response has no \"Upgrade: websocket\" header")
        }
        let connection = headers["connection"]?.lowercased().split(separator: ",").map { $0.trimmingWhitespace() } ?? []
        guard connection.contains("upgrade") else {
            return Refusal(status: status, reason: "the 101 response has no \"Connection: Upgrade\" header")
        }
        guard headers["sec-websocket-accept"] == Self.acceptValue(forKey: key) else {
            return Refusal(status: status, reason: "the 101 response's Sec-WebSocket-Accept does not match the key sent")
        }
        if let extensions = headers["sec-websocket-extensions"], !extensions.isEmpty {
            return Refusal(status: status, reason: "the server chose extensions the client did not offer (\(extensions))")
        }
        if let subprotocol = headers["sec-websocket-protocol"], !subprotocol.isEmpty {
            return Refusal(status: status, reason: "the server chose a subprotocol the client did not offer (\(subprotocol))")
        }
        return nil
    }
}

/// SHA-1 (FIPS 180-4), only for the WebSocket accept key (RFC 6455 §4.2.2); not for security.
package enum SHA1 {
    /// The 20-byte digest of `message`.
    package static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var padded = message + [0x80]
        while padded.count % 64 != 56 { padded.append(0) }
        let bitLength = UInt64(message.count) * 8
        padded += (0..<8).reversed().map { UInt8(truncatingIfNeeded: bitLength >> ($0 * 8)) }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: padded.count, by: 64) {
            for index in 0..<16 {
                w[index] = (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(padded[chunk + index * 4 + $1]) }
            }
            for index in 16..<80 {
                let value = w[index - 3] ^ w[index - 8] ^ w[index - 14] ^ w[index - 16]
                w[index] = value << 1 | value >> 31
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

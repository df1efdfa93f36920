import Foundation
import River
import RiverWebSocket
import Testing

/// `WebSocketClientHandshake` on its own: the upgrade request it writes and its verdict on
/// every kind of response, however the response is split across reads (RFC 6455 §4.1).
@Suite("WebSocket client handshake")
struct WebSocketClientHandshakeTests {
    /// The key of RFC 6455 §1.3's example.
    static let exampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

    /// A 101 response accepting `key`, with `extra` header lines.
    static func accepting(_ key: String = exampleKey, extra: [String] = []) -> [UInt8] {
        let lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
                     "Sec-WebSocket-Accept: \(WebSocketClientHandshake.acceptValue(forKey: key))"] + extra
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// Feeds `bytes` to a fresh handshake in reads of the given sizes (the rest in one last read);
    /// every outcome but the last must be `incomplete`.
    static func outcome(of bytes: [UInt8], in sizes: [Int] = []) -> WebSocketClientHandshake.Outcome {
        var handshake = WebSocketClientHandshake(key: exampleKey)
        var offset = 0
        var outcome = WebSocketClientHandshake.Outcome.incomplete
        for size in sizes + [bytes.count] where offset < bytes.count {
            #expect(outcome == .incomplete, "a verdict before the last read, at byte \(offset)")
            let end = min(bytes.count, offset + size)
            outcome = bytes[offset..<end].withUnsafeBytes { handshake.receive($0) }
            offset = end
        }
        return outcome
    }

    /// The refusal `bytes` end in, or `nil` (recording an issue) when they are not refused.
    static func refusal(
        of bytes: [UInt8], in sizes: [Int] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) -> WebSocketClientHandshake.Refusal? {
        let result = outcome(of: bytes, in: sizes)
        guard case .refused(let refusal) = result else {
            Issue.record("expected a refusal, got \(result)", sourceLocation: sourceLocation)
            return nil
        }
        return refusal
    }

    // MARK: The request

    @Test("the request: GET line, Host, Upgrade, Connection, Key, Version 13, Origin, then the extra headers in order")
    func requestBytes() {
        let handshake = WebSocketClientHandshake(key: Self.exampleKey)
        let request = handshake.request(
            path: "/river?v=2", host: "example.com:8080",
            headers: [(name: "Authorization", value: "Bearer t"), (name: "X-B", value: "2"), (name: "X-A", value: "1")])
        let expected = "GET /river?v=2 HTTP/1.1\r\n"
            + "Host: example.com:8080\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
            + "Origin: example.com:8080\r\n"
            + "Authorization: Bearer t\r\n"
            + "X-B: 2\r\n"
            + "X-A: 1\r\n"
            + "\r\n"
        #expect(String(decoding: request, as: UTF8.self) == expected)
    }

    @Test("a fresh key is 16 random bytes in base64, different each time")
    func randomKeys() {
        let keys = (0..<8).map { _ in WebSocketClientHandshake.randomKey() }
        for key in keys {
            #expect(key.count == 24 && key.hasSuffix("=="), "\(key)")
        }
        #expect(Set(keys).count == keys.count)
        #expect(WebSocketClientHandshake().key.count == 24)
    }

    // MARK: The accept key and SHA-1

    @Test("the accept value for RFC 6455's example key is the RFC's")
    func rfcAcceptValue() {
        #expect(WebSocketClientHandshake.acceptValue(forKey: Self.exampleKey) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("SHA-1 matches FIPS 180's examples, including messages at the padding boundaries")
    func sha1Vectors() {
        func hex(_ text: String) -> String {
            SHA1.digest(Array(text.utf8)).map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        }
        #expect(hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        // 56 bytes: the length no longer fits the first block.
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        // 55 and 64 bytes: the largest one-block message and exactly one block.
        #expect(hex(String(repeating: "a", count: 55)) == "c1c8bbdc22796e28c0e15163d20899b65621d65a")
        #expect(hex(String(repeating: "a", count: 64)) == "0098ba824b5c16427bd7a1122a5a442a25ec644d")
    }

    // MARK: Accepted responses

    @Test("a 101 response read in one piece is accepted, consuming all of it")
    func acceptedInOneRead() {
        let response = Self.accepting()
        #expect(Self.outcome(of: response) == .accepted(consumed: response.count))
    }

    @Test("a 101 response split into two reads at every byte is accepted, consuming the last read's part")
    func acceptedAcrossReads() {
        let response = Self.accepting()
        for split in 1..<response.count {
            #expect(Self.outcome(of: response, in: [split]) == .accepted(consumed: response.count - split), "split at \(split)")
        }
    }

    @Test("a response whose blank line straddles reads, in every way it can, is accepted")
    func blankLineStraddlingReads() {
        let response = Self.accepting()
        let end = response.count
        // CR | LF CR LF, CR LF | CR LF, CR LF CR | LF, and one byte at a time through them.
        for sizes in [[end - 4, 1], [end - 4, 2], [end - 4, 3], [end - 4, 1, 1, 1], [end - 3, 1, 1]] {
            let last = end - sizes.reduce(0, +)
            #expect(Self.outcome(of: response, in: sizes) == .accepted(consumed: last), "reads of \(sizes)")
        }
        #expect(Self.outcome(of: response, in: Array(repeating: 1, count: end)) == .accepted(consumed: 1))
    }

    @Test("frame bytes after the response in the same read are left out of what it consumed")
    func leftoverFrameBytes() {
        let response = Self.accepting()
        let frames: [UInt8] = [0x81, 2, 0x68, 0x69, 0x89, 0]
        #expect(Self.outcome(of: response + frames) == .accepted(consumed: response.count))
        // The response's last bytes and the frames together in the second read.
        #expect(Self.outcome(of: response + frames, in: [response.count - 2]) == .accepted(consumed: 2))
        // Bytes that look like another blank line in the frames do not move the end.
        let blankLines = Array("\r\n\r\n\r\n".utf8)
        #expect(Self.outcome(of: response + blankLines, in: [10]) == .accepted(consumed: response.count - 10))
    }

    @Test("header names and values are matched without regard to case; Connection may list other tokens")
    func headerCaseAndLists() {
        let accept = WebSocketClientHandshake.acceptValue(forKey: Self.exampleKey)
        let response = "HTTP/1.1 101 Switching Protocols\r\nupgrade:WebSocket\r\nCONNECTION: keep-alive, UPGRADE\r\n"
            + "sec-websocket-accept:   \(accept)  \r\nServer: test\r\n\r\n"
        #expect(Self.outcome(of: Array(response.utf8)) == .accepted(consumed: response.utf8.count))
        // An empty extensions or protocol header chooses nothing.
        let empty = Self.accepting(extra: ["Sec-WebSocket-Extensions: ", "Sec-WebSocket-Protocol:"])
        #expect(Self.outcome(of: empty) == .accepted(consumed: empty.count))
    }

    // MARK: Refused responses

    @Test("a non-101 status is refused with that status and its text")
    func nonSwitchingStatus() {
        let unauthorized = Array("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 0\r\n\r\n".utf8)
        let refusal = Self.refusal(of: unauthorized)
        #expect(refusal?.status == 401)
        #expect(refusal?.reason == "HTTP 401 Unauthorized", "\(String(describing: refusal))")
        // A 200 with the right upgrade headers is still not an upgrade.
        let ok = Array(String(decoding: Self.accepting(), as: UTF8.self).replacingOccurrences(of: "101 Switching Protocols", with: "200 OK").utf8)
        #expect(Self.refusal(of: ok)?.status == 200)
        // A status line without a reason phrase.
        #expect(Self.refusal(of: Array("HTTP/1.0 503\r\n\r\n".utf8))?.reason == "HTTP 503")
    }

    @Test("a response that is not HTTP is refused without a status",
          arguments: ["SSH-2.0-OpenSSH_9.6\r\n\r\n", "\r\n\r\n", "HTTP/1.1 abc Nope\r\n\r\n", "HTTP/2 101\r\n\r\n", "ICY 200 OK\r\n\r\n"])
    func notHTTP(_ response: String) {
        let refusal = Self.refusal(of: Array(response.utf8))
        #expect(refusal?.status == nil)
        #expect(refusal?.reason.hasPrefix("the response is not HTTP") == true, "\(String(describing: refusal))")
    }

    @Test("binary garbage that never ends its headers is refused once it passes 16 KiB")
    func garbageWithoutEnd() {
        var random = SplitMix64(seed: 3)
        // Never CR, so the garbage cannot end a header block by chance.
        let garbage = (0..<(WebSocketClientHandshake.maximumResponseSize + 1)).map { _ in UInt8.random(in: 14...255, using: &random) }
        let refusal = Self.refusal(of: garbage)
        #expect(refusal?.status == nil)
    }

    /// A 101 with one header line removed or changed, and what the refusal must mention.
    struct Broken: CustomTestStringConvertible, Sendable {
        var name: String
        var lines: [String]
        var mentions: String
        var testDescription: String { name }
    }

    static let accept = WebSocketClientHandshake.acceptValue(forKey: exampleKey)
    static let broken: [Broken] = [
        Broken(name: "no Upgrade", lines: ["Connection: Upgrade", "Sec-WebSocket-Accept: \(accept)"], mentions: "Upgrade: websocket"),
        Broken(name: "Upgrade: h2c", lines: ["Upgrade: h2c", "Connection: Upgrade", "Sec-WebSocket-Accept: \(accept)"], mentions: "Upgrade: websocket"),
        Broken(name: "no Connection", lines: ["Upgrade: websocket", "Sec-WebSocket-Accept: \(accept)"], mentions: "Connection: Upgrade"),
        Broken(
            name: "Connection: keep-alive", lines: ["Upgrade: websocket", "Connection: keep-alive", "Sec-WebSocket-Accept: \(accept)"],
            mentions: "Connection: Upgrade"),
        Broken(name: "no accept key", lines: ["Upgrade: websocket", "Connection: Upgrade"], mentions: "Sec-WebSocket-Accept"),
        Broken(
            name: "wrong accept key",
            lines: ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: \(WebSocketClientHandshake.acceptValue(forKey: "AAAAAAAAAAAAAAAAAAAAAA=="))"],
            mentions: "Sec-WebSocket-Accept"),
        Broken(
            name: "an extension chosen",
            lines: ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: \(accept)", "Sec-WebSocket-Extensions: permessage-deflate"],
            mentions: "permessage-deflate"),
        Broken(
            name: "a subprotocol chosen",
            lines: ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: \(accept)", "Sec-WebSocket-Protocol: river"],
            mentions: "river"),
    ]

    @Test("a 101 response without what RFC 6455 requires, or choosing what was not offered, is refused", arguments: broken)
    func brokenSwitchingResponse(_ broken: Broken) {
        let response = Array((["HTTP/1.1 101 Switching Protocols"] + broken.lines).joined(separator: "\r\n").utf8) + Array("\r\n\r\n".utf8)
        let refusal = Self.refusal(of: response)
        #expect(refusal?.status == 101)
        #expect(refusal?.reason.contains(broken.mentions) == true, "\(String(describing: refusal))")
    }

    @Test("headers over 16 KiB are refused, whether or not they arrive in one read")
    func oversizedHeaders() {
        let filler = "X-Filler: " + String(repeating: "f", count: 200) + "\r\n"
        let head = "HTTP/1.1 101 Switching Protocols\r\n" + String(repeating: filler, count: 90)
        let bytes = Array(head.utf8)
        #expect(bytes.count > WebSocketClientHandshake.maximumResponseSize)
        for sizes in [[], [1000], Array(repeating: 4096, count: 5)] {
            let refusal = Self.refusal(of: bytes, in: sizes)
            #expect(refusal?.status == nil, "reads of \(sizes)")
            #expect(refusal?.reason.contains("16384") == true, "\(String(describing: refusal))")
        }
        // Just under the limit with no end yet: still waiting.
        #expect(Self.outcome(of: Array(bytes.prefix(WebSocketClientHandshake.maximumResponseSize))) == .incomplete)
    }

    @Test("a head over 16 KiB is refused even when its blank line comes in the read that passes the limit")
    func oversizedHeadWithItsEnd() {
        let filler = "X-Filler: " + String(repeating: "f", count: 200) + "\r\n"
        let head = Array(String(decoding: Self.accepting(extra: Array(repeating: filler.dropLast(2).description, count: 90)), as: UTF8.self).utf8)
        #expect(head.count > WebSocketClientHandshake.maximumResponseSize)
        for sizes in [[], [10_000]] {
            #expect(Self.refusal(of: head, in: sizes)?.status == nil, "reads of \(sizes.first ?? head.count)")
        }
    }

    @Test("input after the verdict is refused, not read as a second response")
    func inputAfterVerdict() {
        var handshake = WebSocketClientHandshake(key: Self.exampleKey)
        let response = Self.accepting()
        #expect(response.withUnsafeBytes { handshake.receive($0) } == .accepted(consumed: response.count))
        guard case .refused = response.withUnsafeBytes({ handshake.receive($0) }) else {
            Issue.record("a second response was read")
            return
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

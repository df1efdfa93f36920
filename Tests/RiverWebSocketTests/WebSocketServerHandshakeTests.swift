import Foundation
import River
import RiverWebSocket
import Testing

/// `WebSocketServerHandshake` on its own: the verdict on every kind of upgrade request, however
/// it is split across reads, and the exact bytes of each answer (RFC 6455 §4.2).
@Suite("WebSocket server handshake")
struct WebSocketServerHandshakeTests {
    typealias Handshake = WebSocketServerHandshake

    /// The key of RFC 6455 §1.3's example.
    static let exampleKey = WebSocketClientHandshakeTests.exampleKey

    /// The header lines of a valid upgrade request (after the request line).
    static let upgradeLines = [
        "Host: 127.0.0.1:8080", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Key: \(exampleKey)", "Sec-WebSocket-Version: 13",
    ]

    /// A request: `requestLine`, then `lines`, then the blank line.
    static func request(_ requestLine: String = "GET /river?client=swift HTTP/1.1", lines: [String] = upgradeLines) -> [UInt8] {
        Array(([requestLine] + lines).map { $0 + "\r\n" }.joined().utf8) + Array("\r\n".utf8)
    }

    /// `lines` as the accepted request lists them: "name: value", the name lowercased and the
    /// value trimmed.
    static func captured(_ lines: [String]) -> [String] {
        lines.map { line in
            let colon = line.firstIndex(of: ":") ?? line.endIndex
            let value = line[line.index(after: colon)...].trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
            return "\(line[..<colon].lowercased()): \(value)"
        }
    }

    /// Expects `outcome` to accept a request for `path` with `headers` (as ``captured(_:)``
    /// writes them) and RFC 6455's example key, the last read's first `consumed` bytes being it.
    static func expectUpgrade(
        _ outcome: Handshake.Outcome, path: String = "/river?client=swift", headers: [String] = captured(upgradeLines),
        consumed: Int, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .upgrade(let request, let actualConsumed) = outcome else {
            Issue.record("expected an upgrade, got \(outcome). \(comment ?? "")", sourceLocation: sourceLocation)
            return
        }
        #expect(request.path == path, comment, sourceLocation: sourceLocation)
        #expect(request.headers.map { "\($0.name): \($0.value)" } == headers, comment, sourceLocation: sourceLocation)
        #expect(request.key == exampleKey, comment, sourceLocation: sourceLocation)
        #expect(actualConsumed == consumed, comment, sourceLocation: sourceLocation)
    }

    /// Feeds `bytes` to a fresh handshake in reads of the given sizes (the rest in one last read);
    /// every outcome but the last must be `incomplete`.
    static func outcome(
        of bytes: [UInt8], in sizes: [Int] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) -> Handshake.Outcome {
        var handshake = Handshake()
        var offset = 0
        var outcome = Handshake.Outcome.incomplete
        for size in sizes + [bytes.count] where offset < bytes.count {
            #expect(outcome == .incomplete, "a verdict before the last read, at byte \(offset)", sourceLocation: sourceLocation)
            let end = min(bytes.count, offset + size)
            outcome = bytes[offset..<end].withUnsafeBytes { handshake.receive($0) }
            offset = end
        }
        return outcome
    }

    /// A refusal's answer split into its status line and header lines, and its reason.
    struct Refusal {
        var statusLine: String
        var headers: [String]
        var reason: String
    }

    /// The refusal `bytes` end in, or `nil` (recording an issue) when they are not refused.
    static func refusal(
        of bytes: [UInt8], in sizes: [Int] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) -> Refusal? {
        let result = outcome(of: bytes, in: sizes, sourceLocation: sourceLocation)
        guard case .refused(let response, let reason) = result else {
            Issue.record("expected a refusal, got \(result)", sourceLocation: sourceLocation)
            return nil
        }
        let text = String(decoding: response, as: UTF8.self)
        // One head, ending in the blank line, with nothing after it.
        #expect(text.hasSuffix("\r\n\r\n"), "\(text.debugDescription)", sourceLocation: sourceLocation)
        var lines = text.components(separatedBy: "\r\n")
        lines.removeLast(2)
        return Refusal(statusLine: lines.first ?? "", headers: Array(lines.dropFirst()), reason: reason)
    }

    // MARK: Accepted requests

    @Test("a valid request is accepted with its path and query, every header (names lowercased, values trimmed) in order, and its key")
    func acceptedRequest() {
        let lines = [
            "Host: 127.0.0.1:8080", "Upgrade: websocket", "Connection: Upgrade",
            "X-Custom:   Value With  Spaces \t", "Sec-WebSocket-Key:\t\(Self.exampleKey)  ", "Authorization: Bearer a:b",
            "Sec-WebSocket-Version: 13", "X-Empty:", "x-custom: second",
        ]
        let bytes = Self.request("GET /river?client=swift&v=2 HTTP/1.1", lines: lines)
        Self.expectUpgrade(
            Self.outcome(of: bytes), path: "/river?client=swift&v=2",
            headers: [
                "host: 127.0.0.1:8080", "upgrade: websocket", "connection: Upgrade", "x-custom: Value With  Spaces",
                "sec-websocket-key: \(Self.exampleKey)", "authorization: Bearer a:b", "sec-websocket-version: 13", "x-empty: ",
                "x-custom: second",
            ],
            consumed: bytes.count)
        // HTTP/1.0 is still HTTP/1.x.
        let old = Self.request("GET / HTTP/1.0")
        Self.expectUpgrade(Self.outcome(of: old), path: "/", consumed: old.count)
    }

    @Test("the 101 answer for RFC 6455's example key carries the RFC's accept value, byte for byte")
    func acceptResponseBytes() {
        let bytes = Self.request()
        guard case .upgrade(let request, _) = Self.outcome(of: bytes) else {
            Issue.record("the example request was not accepted")
            return
        }
        let response = Handshake.acceptResponse(for: request)
        #expect(String(decoding: response, as: UTF8.self)
            == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
        // A client checking the answer accepts it.
        var client = WebSocketClientHandshake(key: Self.exampleKey)
        #expect(response.withUnsafeBytes { client.receive($0) } == .accepted(consumed: response.count))
    }

    @Test("a request split into two reads at every byte is accepted, consuming the last read's part")
    func acceptedAcrossReads() {
        let bytes = Self.request()
        for split in 1..<bytes.count {
            Self.expectUpgrade(Self.outcome(of: bytes, in: [split]), consumed: bytes.count - split, "split at \(split)")
        }
        Self.expectUpgrade(Self.outcome(of: bytes, in: Array(repeating: 1, count: bytes.count)), consumed: 1)
    }

    @Test("a request whose blank line straddles reads, in every way it can, is accepted")
    func blankLineStraddlingReads() {
        let bytes = Self.request()
        let end = bytes.count
        // CR | LF CR LF, CR LF | CR LF, CR LF CR | LF, and one byte at a time through them; also
        // the end found in a read that brings only the last LF after many small reads.
        for sizes in [[end - 4, 1], [end - 4, 2], [end - 4, 3], [end - 4, 1, 1, 1], [end - 3, 1, 1], [end - 5, 1, 1, 1, 1]] {
            let last = end - sizes.reduce(0, +)
            Self.expectUpgrade(Self.outcome(of: bytes, in: sizes), consumed: last, "reads of \(sizes)")
        }
    }

    @Test("frame bytes after the request are left out of what it consumed, whichever read they come in")
    func leftoverFrameBytes() {
        let bytes = Self.request()
        let frames = ServerFrame.frame(opcode: 0x1, payload: Array("hi".utf8), maskKey: [1, 2, 3, 4])
        Self.expectUpgrade(Self.outcome(of: bytes + frames), consumed: bytes.count)
        // The request's last bytes and the frames together in the second read.
        for tail in 1...4 {
            Self.expectUpgrade(Self.outcome(of: bytes + frames, in: [bytes.count - tail]), consumed: tail, "\(tail) bytes of the request in the last read")
        }
        // Bytes that look like another blank line after the request do not move its end.
        let blankLines = Array("\r\n\r\n\r\n".utf8)
        Self.expectUpgrade(Self.outcome(of: bytes + blankLines, in: [10]), consumed: bytes.count - 10)
    }

    @Test("header names are matched without regard to case; Upgrade's value too; Connection may list other tokens")
    func headerCaseAndLists() {
        let lines = [
            "HOST: example.com", "upgrade: WebSocket", "CONNECTION: keep-alive, Upgrade",
            "sec-websocket-key: \(Self.exampleKey)", "SEC-WEBSOCKET-VERSION: 13",
        ]
        let bytes = Self.request("GET /x HTTP/1.1", lines: lines)
        Self.expectUpgrade(Self.outcome(of: bytes), path: "/x", headers: Self.captured(lines), consumed: bytes.count)
        // The upgrade token anywhere in the list, in any case, with or without spaces.
        for connection in ["Connection: keep-alive,upgrade", "Connection: UPGRADE , close", "Connection: x, y,  Upgrade"] {
            let lines = Self.upgradeLines.map { $0.hasPrefix("Connection:") ? connection : $0 }
            let bytes = Self.request(lines: lines)
            Self.expectUpgrade(Self.outcome(of: bytes), headers: Self.captured(lines), consumed: bytes.count, "\(connection)")
        }
    }

    // MARK: Refused requests

    /// A request the handshake must refuse, with the status line and extra header lines of its
    /// answer (before `Connection: close` and `Content-Length: 0`) and what its reason mentions.
    struct Refused: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var statusLine: String
        var extra: [String] = []
        var mentions: String
        var testDescription: String { name }
    }

    /// The valid request's lines with the one starting with `prefix` replaced by `replacement`
    /// (removed when `nil`).
    static func replacing(_ prefix: String, with replacement: String?) -> [String] {
        upgradeLines.compactMap { $0.hasPrefix(prefix) ? replacement : $0 }
    }

    static let badRequest = "HTTP/1.1 400 Bad Request"
    static let upgradeRequired = "HTTP/1.1 426 Upgrade Required"

    static let refusals: [Refused] = [
        Refused(name: "not HTTP", bytes: Array("SSH-2.0-OpenSSH_9.6\r\n\r\n".utf8), statusLine: badRequest, mentions: "not an HTTP request"),
        Refused(name: "an empty head", bytes: Array("\r\n\r\n".utf8), statusLine: badRequest, mentions: "not an HTTP request"),
        Refused(name: "HTTP/0.9 request line", bytes: request("GET /"), statusLine: badRequest, mentions: "not an HTTP request"),
        Refused(name: "HTTP/2 request line", bytes: request("GET / HTTP/2"), statusLine: badRequest, mentions: "not an HTTP request"),
        Refused(
            name: "a request line with four parts", bytes: request("GET / extra HTTP/1.1"), statusLine: badRequest,
            mentions: "not an HTTP request"),
        Refused(
            name: "a header line without a colon", bytes: request(lines: upgradeLines + ["Broken header"]), statusLine: badRequest,
            mentions: "no colon"),
        Refused(
            name: "no Sec-WebSocket-Key", bytes: request(lines: replacing("Sec-WebSocket-Key", with: nil)), statusLine: badRequest,
            mentions: "Sec-WebSocket-Key"),
        Refused(
            name: "an empty Sec-WebSocket-Key", bytes: request(lines: replacing("Sec-WebSocket-Key", with: "Sec-WebSocket-Key:  ")),
            statusLine: badRequest, mentions: "Sec-WebSocket-Key"),
        Refused(
            name: "Sec-WebSocket-Key twice", bytes: request(lines: upgradeLines + ["sec-websocket-key: AAAAAAAAAAAAAAAAAAAAAA=="]),
            statusLine: badRequest, mentions: "Sec-WebSocket-Key"),
        Refused(
            name: "POST", bytes: request("POST /river HTTP/1.1"), statusLine: "HTTP/1.1 405 Method Not Allowed", extra: ["Allow: GET"],
            mentions: "POST"),
        Refused(
            name: "lowercase get", bytes: request("get /river HTTP/1.1"), statusLine: "HTTP/1.1 405 Method Not Allowed", extra: ["Allow: GET"],
            mentions: "get"),
        Refused(
            name: "a plain GET", bytes: request(lines: ["Host: 127.0.0.1", "Accept: */*"]), statusLine: upgradeRequired,
            extra: ["Upgrade: websocket", "Connection: Upgrade"], mentions: "not a WebSocket upgrade"),
        Refused(
            name: "Upgrade: h2c", bytes: request(lines: replacing("Upgrade:", with: "Upgrade: h2c")), statusLine: upgradeRequired,
            extra: ["Upgrade: websocket", "Connection: Upgrade"], mentions: "not a WebSocket upgrade"),
        Refused(
            name: "no Connection: Upgrade", bytes: request(lines: replacing("Connection:", with: "Connection: keep-alive")),
            statusLine: upgradeRequired, extra: ["Upgrade: websocket", "Connection: Upgrade"], mentions: "not a WebSocket upgrade"),
        Refused(
            name: "Connection: upgrades (not the token)", bytes: request(lines: replacing("Connection:", with: "Connection: upgrades")),
            statusLine: upgradeRequired, extra: ["Upgrade: websocket", "Connection: Upgrade"], mentions: "not a WebSocket upgrade"),
        Refused(
            name: "version 8", bytes: request(lines: replacing("Sec-WebSocket-Version", with: "Sec-WebSocket-Version: 8")),
            statusLine: upgradeRequired, extra: ["Sec-WebSocket-Version: 13"], mentions: "version 8"),
        Refused(
            name: "no version", bytes: request(lines: replacing("Sec-WebSocket-Version", with: nil)), statusLine: upgradeRequired,
            extra: ["Sec-WebSocket-Version: 13"], mentions: "version none"),
    ]

    @Test("a request that is not a WebSocket upgrade this server takes is refused with its status, extra headers and Connection: close",
          arguments: refusals)
    func refused(_ refused: Refused) {
        for sizes in [[], Array(repeating: 1, count: refused.bytes.count)] {
            guard let refusal = Self.refusal(of: refused.bytes, in: sizes) else { return }
            #expect(refusal.statusLine == refused.statusLine)
            #expect(refusal.headers == refused.extra + ["Connection: close", "Content-Length: 0"])
            #expect(refusal.reason.contains(refused.mentions), "\(refusal.reason)")
        }
    }

    @Test("input after the verdict is refused, not read as a second request")
    func inputAfterVerdict() {
        var handshake = Handshake()
        let bytes = Self.request()
        Self.expectUpgrade(bytes.withUnsafeBytes { handshake.receive($0) }, consumed: bytes.count)
        guard case .refused = bytes.withUnsafeBytes({ handshake.receive($0) }) else {
            Issue.record("a second request was read")
            return
        }
    }

    // MARK: The size limit

    /// A valid request padded with filler headers to exactly `size` bytes.
    static func request(ofSize size: Int) -> [UInt8] {
        let base = request().count
        var lines = upgradeLines
        var remaining = size - base
        while remaining > 0 {
            // "X-F: " + value + CRLF: at least 7 bytes.
            let take = remaining > 1000 ? 900 : remaining
            precondition(take >= 7, "cannot pad by \(take)")
            lines.append("X-F: " + String(repeating: "f", count: take - 7))
            remaining -= take
        }
        return request(lines: lines)
    }

    @Test("a request of exactly 16 KiB is accepted; one byte more is refused with 431, also when it ends in the same read")
    func limitWithTheEndInTheRead() {
        let atLimit = Self.request(ofSize: Handshake.maximumRequestSize)
        #expect(atLimit.count == Handshake.maximumRequestSize)
        guard case .upgrade(let request, let consumed) = Self.outcome(of: atLimit + [0x81]) else {
            Issue.record("a 16 KiB request was not accepted")
            return
        }
        #expect(consumed == atLimit.count)
        #expect(request.key == Self.exampleKey)
        let over = Self.request(ofSize: Handshake.maximumRequestSize + 1)
        #expect(over.count == Handshake.maximumRequestSize + 1)
        for sizes in [[], [10_000], [Handshake.maximumRequestSize]] {
            let refusal = Self.refusal(of: over, in: sizes)
            #expect(refusal?.statusLine == "HTTP/1.1 431 Request Header Fields Too Large", "reads of \(sizes)")
            #expect(refusal?.headers == ["Connection: close", "Content-Length: 0"])
            #expect(refusal?.reason.contains("16384") == true, "\(String(describing: refusal?.reason))")
        }
    }

    @Test("a head passing 16 KiB without its end yet is refused with 431 as soon as it passes")
    func limitWithoutTheEnd() {
        // Never CR, so the filler cannot end the head by chance.
        let head = Array("GET / HTTP/1.1\r\nX-Filler: ".utf8) + [UInt8](repeating: 0x66, count: Handshake.maximumRequestSize)
        for sizes in [[], [1000], Array(repeating: 4096, count: 4), Array(repeating: 1, count: Handshake.maximumRequestSize)] {
            // The read that passes the limit gets the verdict; nothing after it is needed.
            let passing = Array(head.prefix(Handshake.maximumRequestSize + 1))
            let refusal = Self.refusal(of: passing, in: sizes)
            #expect(refusal?.statusLine == "HTTP/1.1 431 Request Header Fields Too Large", "reads of \(sizes.first ?? passing.count)")
        }
        // Exactly at the limit with no end yet: still waiting.
        #expect(Self.outcome(of: Array(head.prefix(Handshake.maximumRequestSize))) == .incomplete)
    }
}

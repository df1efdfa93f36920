import Foundation
import River
import RiverWebSocket
import Testing

/// Close reasons longer than a close frame has room for (123 bytes after the code, RFC 6455
/// §5.5) are cut at a character boundary, so what the peer reads is still valid UTF-8, on the
/// client side (River's own frames) and the server side (libwebsockets' close).
@Suite("WebSocket close reasons", .timeLimit(.minutes(1)))
struct WebSocketCloseReasonTests {
    /// Reasons and the bytes that must go out for them.
    static let cuts: [(reason: String, sent: String)] = [
        ("short", "short"),
        (String(repeating: "abcdefghij", count: 20), String(repeating: "abcdefghij", count: 13).prefix(123).description),
        // 2-byte characters: 61 fit (122 bytes), the 62nd would straddle the limit.
        (String(repeating: "é", count: 100), String(repeating: "é", count: 61)),
        // 4-byte characters after one ASCII byte: 1 + 30 × 4 = 121 bytes.
        ("a" + String(repeating: "😀", count: 40), "a" + String(repeating: "😀", count: 30)),
        // 3 bytes then 4-byte characters: exactly 123.
        ("abc" + String(repeating: "😀", count: 40), "abc" + String(repeating: "😀", count: 30)),
    ]

    @Test("a long reason is cut to at most 123 bytes at a character boundary", arguments: 0..<cuts.count)
    func cut(_ index: Int) {
        let (reason, sent) = Self.cuts[index]
        let bytes = WebSocketFrameBuffer.closeReasonBytes(reason)
        #expect(bytes.count <= 123)
        #expect(bytes == Array(sent.utf8), "\(bytes.count) bytes")
    }

    @Test("a client's close frame carries the cut reason, valid UTF-8")
    func clientCloseFrame() async throws {
        let reason = String(repeating: "é", count: 100)
        let server = try RawServer(.webSocket(then: [], answerClose: true))
        defer { server.close() }
        try await withTimeout(.seconds(30)) {
            let client = try await WebSocketConnector(url: "ws://127.0.0.1:\(server.port)/").connect(timeout: .seconds(30))
            client.close(code: 4000, reason: reason)
            let frame = await server.firstClientFrame()
            #expect(frame.opcode == 0x8)
            #expect(frame.payload == [0x0F, 0xA0] + Array(String(repeating: "é", count: 61).utf8))
        }
    }

    @Test("a server's close frame carries the cut reason, valid UTF-8")
    func serverCloseFrame() async throws {
        let listener = try await WebSocketListener.bind()
        try await withTimeout(.seconds(30)) {
            async let accepted = accept(listener)
            let peer = try await RawWebSocketClient(port: listener.port)
            let server = try await accepted
            server.close(code: 4000, reason: "a" + String(repeating: "😀", count: 40))
            let frame = try await peer.readFrame()
            #expect(frame.opcode == 0x8)
            #expect(frame.payload == [0x0F, 0xA0] + Array(("a" + String(repeating: "😀", count: 30)).utf8))
            peer.close()
        }
        await listener.close()
    }
}

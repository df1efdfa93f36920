import Foundation
import River
import RiverTLSFixtures
import RiverWebSocket
import Testing

/// A listener against a hand-written client (``RawWebSocketClient``): the server answers the
/// upgrade itself (or refuses it and closes), reads the client's masked frames, answers pings,
/// takes part in the close handshake and closes with 1002 when the client breaks RFC 6455.
@Suite("WebSocket listener framing", .timeLimit(.minutes(1)))
struct WebSocketListenerFramingTests {
    /// A listener with one raw client upgraded to it, handed to `body` with the server's side of
    /// the connection; the client and the listener are closed after.
    static func withRawPeer(
        configuration: WebSocketListener.Configuration = .defaults,
        path: String = "/raw",
        headers: [String] = [],
        firstBytes: [UInt8] = [],
        _ body: @escaping @Sendable (_ peer: RawWebSocketClient, _ server: WebSocketConnection) async throws -> Void
    ) async throws {
        let listener = try await WebSocketListener.bind(configuration: configuration)
        do {
            try await withTimeout(.seconds(40)) {
                async let accepted = accept(listener)
                let peer = try await RawWebSocketClient(port: listener.port, path: path, headers: headers, firstBytes: firstBytes)
                defer { peer.close() }
                try await body(peer, try await accepted)
            }
        } catch {
            await listener.close()
            throw error
        }
        await listener.close()
    }

    /// A close frame's payload: the code, big-endian, then the reason.
    static func closePayload(_ code: UInt16, _ reason: String = "") -> [UInt8] {
        WebSocketClientFramingTests.closePayload(code, reason)
    }

    // MARK: Refused upgrades

    /// A request the listener refuses, and the answer's status line and extra header.
    struct Refused: CustomTestStringConvertible, Sendable {
        var name: String
        var request: String
        var statusLine: String
        var extra: String
        var testDescription: String { name }
    }

    static let refusals = [
        Refused(
            name: "a plain GET", request: "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n",
            statusLine: "HTTP/1.1 426 Upgrade Required", extra: "Upgrade: websocket"),
        Refused(
            name: "version 8",
            request: "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
            statusLine: "HTTP/1.1 426 Upgrade Required", extra: "Sec-WebSocket-Version: 13"),
        Refused(
            name: "POST",
            request: "POST /river HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
            statusLine: "HTTP/1.1 405 Method Not Allowed", extra: "Allow: GET"),
        Refused(
            name: "no key", request: "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
            statusLine: "HTTP/1.1 400 Bad Request", extra: "Connection: close"),
        Refused(
            name: "a head over 16 KiB",
            request: "GET / HTTP/1.1\r\nX-Filler: " + String(repeating: "f", count: 20_000) + "\r\n\r\n",
            statusLine: "HTTP/1.1 431 Request Header Fields Too Large", extra: "Connection: close"),
    ]

    @Test("a request that is not a WebSocket upgrade gets its HTTP refusal with Connection: close, then the socket closes; no connection is accepted",
          arguments: refusals)
    func refusedUpgrade(_ refused: Refused) async throws {
        let listener = try await WebSocketListener.bind()
        do {
            try await withTimeout(.seconds(40)) {
                let peer = try await RawWebSocketClient(connectingTo: listener.port)
                defer { peer.close() }
                try await peer.send(Array(refused.request.utf8))
                // The answer, then the end of the stream: nothing else.
                let answer = String(decoding: try await peer.waitUntilClosed(), as: UTF8.self)
                #expect(answer.hasPrefix(refused.statusLine + "\r\n"), "\(answer.debugDescription)")
                #expect(answer.contains("\r\n" + refused.extra + "\r\n"), "\(answer.debugDescription)")
                #expect(answer.contains("\r\nConnection: close\r\n"), "\(answer.debugDescription)")
                #expect(answer.hasSuffix("\r\nContent-Length: 0\r\n\r\n"), "\(answer.debugDescription)")
                // The refused socket never became a connection: the first one accepted is the next,
                // valid client's.
                async let accepted = accept(listener)
                let valid = try await RawWebSocketClient(port: listener.port, path: "/after")
                defer { valid.close() }
                #expect(try await accepted.requestHeader(":path") == "/after")
            }
        } catch {
            await listener.close()
            throw error
        }
        await listener.close()
    }

    // MARK: The request

    @Test("requestHeaders holds (:path, path and query) first, then every header as sent, including one not listed in capturedCustomHeaders")
    func requestHeaders() async throws {
        try await Self.withRawPeer(
            configuration: .init(capturedCustomHeaders: ["X-Listed"]), path: "/x?y=1",
            headers: ["X-Not-Listed:  kept too ", "Authorization: Bearer t", "X-Listed: yes"]
        ) { _, server in
            let headers = server.requestHeaders.map { "\($0.name): \($0.value)" }
            #expect(headers.first == ":path: /x?y=1")
            #expect(headers.dropFirst().first?.hasPrefix("host: 127.0.0.1:") == true, "\(headers)")
            #expect(Array(headers.dropFirst(2)) == [
                "upgrade: websocket", "connection: Upgrade", "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==",
                "sec-websocket-version: 13", "x-not-listed: kept too", "authorization: Bearer t", "x-listed: yes",
            ])
            #expect(server.requestHeader("X-NOT-LISTED") == "kept too")
            #expect(server.requestHeader(":path") == "/x?y=1")
        }
    }

    @Test("frames sent in the same write as the upgrade request are read after it")
    func framesWithTheRequest() async throws {
        let frames = ServerFrame.frame(opcode: 0x2, payload: [1, 2, 3], maskKey: RawWebSocketClient.maskKey)
            + ServerFrame.frame(opcode: 0x9, payload: [9], maskKey: [4, 3, 2, 1])
            + ServerFrame.frame(opcode: 0x2, payload: pattern(count: 1000, seed: 2), maskKey: [5, 6, 7, 8])
        try await Self.withRawPeer(firstBytes: frames) { peer, server in
            var events = server.events.makeAsyncIterator()
            #expect(try await nextMessage(&events) == [1, 2, 3])
            #expect(try await nextMessage(&events) == pattern(count: 1000, seed: 2))
            let pong = try await peer.readFrame()
            #expect(pong.opcode == 0xA && pong.payload == [9] && !pong.masked && pong.fin)
        }
    }

    // MARK: Messages

    @Test("a 300 KB message arrives whole, sent in one masked frame or in several fragments with a ping between them")
    func bigMessage() async throws {
        let whole = pattern(count: 300_000, seed: 7)
        try await Self.withRawPeer { peer, server in
            var events = server.events.makeAsyncIterator()
            try await peer.sendFrame(opcode: 0x2, fin: true, payload: whole)
            #expect(try await nextMessage(&events) == whole)

            // Fragments of lengths that are not multiples of 4, a 64-bit one, an empty one.
            try await peer.sendFrame(opcode: 0x2, fin: false, payload: Array(whole[0..<3]))
            try await peer.sendFrame(opcode: 0x0, fin: false, payload: Array(whole[3..<70_001]))
            try await peer.sendFrame(opcode: 0x9, fin: true, payload: [4, 2])
            try await peer.sendFrame(opcode: 0x0, fin: false, payload: [])
            try await peer.sendFrame(opcode: 0x0, fin: false, payload: Array(whole[70_001..<70_126]))
            try await peer.sendFrame(opcode: 0x0, fin: true, payload: Array(whole[70_126...]))
            #expect(try await nextMessage(&events) == whole)
            let pong = try await peer.readFrame()
            #expect(pong.opcode == 0xA && pong.payload == [4, 2])
        }
    }

    @Test("a client ping is answered with an unmasked pong carrying the same payload",
          arguments: [[], Array("are you there".utf8), pattern(count: 125, seed: 8)])
    func pingAnswered(payload: [UInt8]) async throws {
        try await Self.withRawPeer { peer, _ in
            try await peer.sendFrame(opcode: 0x9, fin: true, payload: payload)
            let pong = try await peer.readFrame()
            #expect(pong.opcode == 0xA && pong.fin && !pong.masked)
            #expect(pong.payload == payload)
        }
    }

    // MARK: Refused input

    @Test("an unmasked client frame gets a 1002 close frame, then FIN; the server consumer gets .closed 1002 as protocolViolation")
    func unmaskedFrame() async throws {
        try await Self.withRawPeer { peer, server in
            var events = server.events.makeAsyncIterator()
            try await peer.sendFrame(opcode: 0x2, fin: true, payload: [1])
            #expect(try await nextMessage(&events) == [1])
            try await peer.sendFrame(opcode: 0x2, fin: true, payload: [2], masked: false)
            let closed = try await closure(&events)
            #expect(closed.code == 1002, "\(closed)")
            #expect(closed.cause == .protocolViolation, "\(closed)")
            #expect(closed.initiatedLocally)
            #expect(closed.reason == "the client sent an unmasked frame")
            let frame = try await peer.readFrame()
            #expect(frame.opcode == 0x8 && !frame.masked)
            #expect(frame.payload == Self.closePayload(1002, "the client sent an unmasked frame"))
            // The server sends nothing more and closes its side; it waits for the client's.
            #expect(try await peer.waitUntilClosed().isEmpty)
        }
    }

    @Test("a client message over the limit gets a 1009 close frame; the server consumer gets .closed 1009 as frameTooLarge")
    func messageTooBig() async throws {
        try await Self.withRawPeer(configuration: .init(maximumMessageSize: 1000)) { peer, server in
            var events = server.events.makeAsyncIterator()
            try await peer.sendFrame(opcode: 0x2, fin: true, payload: pattern(count: 1000))
            #expect(try await nextMessage(&events) == pattern(count: 1000))
            try await peer.sendFrame(opcode: 0x2, fin: false, payload: pattern(count: 600))
            try await peer.sendFrame(opcode: 0x0, fin: true, payload: pattern(count: 401))
            let closed = try await closure(&events)
            #expect(closed.code == 1009 && closed.cause == .frameTooLarge && closed.initiatedLocally, "\(closed)")
            let frame = try await peer.readFrame()
            #expect(frame.opcode == 0x8)
            #expect(frame.payload.prefix(2) == [0x03, 0xF1], "\(frame.payload)")
            #expect(try await peer.waitUntilClosed().isEmpty)
        }
    }

    // MARK: Closing

    @Test("the server's close(code:reason:) reaches the client as a close frame; the consumer gets .closed once the client answers")
    func serverClose() async throws {
        try await Self.withRawPeer { peer, server in
            let recorder = Recorder()
            #expect(server.deliverEvents { recorder.record($0) })
            server.send([7, 7])
            server.close(code: 4001, reason: "server done")
            let message = try await peer.readFrame()
            #expect(message.opcode == 0x2 && message.payload == [7, 7])
            let frame = try await peer.readFrame()
            #expect(frame.opcode == 0x8 && frame.fin && !frame.masked)
            #expect(frame.payload == Self.closePayload(4001, "server done"))
            // Not closed yet: the server waits for the client's answer.
            #expect(recorder.closure == nil)
            try await peer.sendFrame(opcode: 0x8, fin: true, payload: Self.closePayload(4001))
            await recorder.closed.wait()
            let closed = try #require(recorder.closure)
            #expect(closed.code == 4001)
            #expect(closed.reason == "server done")
            #expect(closed.cause == .closedLocally)
            #expect(closed.initiatedLocally)
            // The answer ends the connection: the server drops the socket.
            #expect(try await peer.waitUntilClosed().isEmpty)
        }
    }

    @Test("after the server's close frame, client data and pings are ignored until the client's answer closes the connection")
    func inputAfterServerClose() async throws {
        try await Self.withRawPeer { peer, server in
            let recorder = Recorder()
            #expect(server.deliverEvents { recorder.record($0) })
            server.close(code: 1000, reason: "")
            let frame = try await peer.readFrame()
            #expect(frame.opcode == 0x8 && frame.payload == Self.closePayload(1000))
            try await peer.sendFrame(opcode: 0x2, fin: true, payload: [1])
            try await peer.sendFrame(opcode: 0x9, fin: true, payload: [2])
            try await peer.sendFrame(opcode: 0x8, fin: true, payload: Self.closePayload(1000))
            await recorder.closed.wait()
            #expect(recorder.messages.isEmpty)
            #expect(recorder.closure?.code == 1000 && recorder.closure?.cause == .closedLocally, "\(String(describing: recorder.closure))")
            // No pong, no second close frame: the socket just closes.
            #expect(try await peer.waitUntilClosed().isEmpty)
        }
    }

    @Test("the server's close against a client that never answers still ends with .closed (the answer is awaited at most 5 s)")
    func serverCloseUnanswered() async throws {
        try await Self.withRawPeer { peer, server in
            var events = server.events.makeAsyncIterator()
            server.close(code: 4002, reason: "no answer")
            let frame = try await peer.readFrame()
            #expect(frame.opcode == 0x8 && frame.payload == Self.closePayload(4002, "no answer"))
            let closed = try await closure(&events)
            #expect(closed.code == 4002 && closed.cause == .closedLocally, "\(closed)")
        }
    }

    @Test("a client close is echoed with the same code and the socket dropped; the consumer gets .closed as closedByPeer")
    func clientClose() async throws {
        try await Self.withRawPeer { peer, server in
            var events = server.events.makeAsyncIterator()
            try await peer.sendFrame(opcode: 0x8, fin: true, payload: Self.closePayload(4000, "client done"))
            let echo = try await peer.readFrame()
            #expect(echo.opcode == 0x8 && echo.fin && !echo.masked)
            #expect(echo.payload == Self.closePayload(4000))
            #expect(try await peer.waitUntilClosed().isEmpty)
            let closed = try await closure(&events)
            #expect(closed.code == 4000)
            #expect(closed.reason == "client done")
            #expect(closed.cause == .closedByPeer)
            #expect(!closed.initiatedLocally)
        }
    }

    @Test("a client close without a code is echoed with an empty close frame; the consumer sees 1005")
    func clientCloseWithoutCode() async throws {
        try await Self.withRawPeer { peer, server in
            var events = server.events.makeAsyncIterator()
            try await peer.sendFrame(opcode: 0x8, fin: true, payload: [])
            let echo = try await peer.readFrame()
            #expect(echo.opcode == 0x8 && echo.payload.isEmpty)
            #expect(try await peer.waitUntilClosed().isEmpty)
            let closed = try await closure(&events)
            #expect(closed.code == 1005 && closed.cause == .closedByPeer, "\(closed)")
        }
    }
}


/// How long the listener keeps a socket: an upgrade request must arrive within 10 s, an open
/// connection (ws or wss) has no deadline, and a refusal is read whole even when the client
/// sent more than the server read.
@Suite("WebSocket listener deadlines", .timeLimit(.minutes(2)))
struct WebSocketListenerDeadlineTests {
    @Test("an open connection outlives the upgrade deadline and, over wss, lws' timeout after its TLS accept", arguments: [false, true])
    func openConnectionOutlivesDeadlines(tls: Bool) async throws {
        let serverTLS = WebSocketListener.TLS(certificateChainPath: TLSFixtures.serverCertificatePath, privateKeyPath: TLSFixtures.serverKeyPath)
        let listener = try await WebSocketListener.bind(configuration: .init(tls: tls ? serverTLS : nil))
        do {
            try await withTimeout(.seconds(60)) {
                async let accepted = accept(listener)
                let client = try await WebSocketConnector(
                    url: "\(tls ? "wss" : "ws")://127.0.0.1:\(listener.port)/", configuration: .init(tls: .init(caFilePath: TLSFixtures.caPath))
                ).connect(timeout: .seconds(30))
                let server = try await accepted
                var events = server.events.makeAsyncIterator()
                // The connection's age is the point here, so time has to pass: past the 10 s
                // upgrade deadline and lws' 5 s (before the fix, wss connections were dropped
                // 5 s after they opened).
                try await Task.sleep(for: .seconds(11))
                client.send([1, 2, 3])
                #expect(try await nextMessage(&events) == [1, 2, 3])
                client.close(code: 1000, reason: "")
                #expect(try await closure(&events).code == 1000)
            }
        } catch {
            await listener.close()
            throw error
        }
        await listener.close()
    }

    @Test("a refused request followed by more bytes than the server read still gets its whole answer, then FIN (no reset)")
    func refusalSurvivesUnreadInput() async throws {
        let listener = try await WebSocketListener.bind()
        do {
            try await withTimeout(.seconds(60)) {
                for round in 0..<5 {
                    let peer = try await RawWebSocketClient(connectingTo: listener.port)
                    defer { peer.close() }
                    let request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
                    try await peer.send(Array(request.utf8) + pattern(count: 200_000))
                    let answer = String(decoding: try await peer.waitUntilClosed(), as: UTF8.self)
                    #expect(answer.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"), "round \(round): \(answer.debugDescription)")
                    #expect(answer.hasSuffix("\r\n\r\n"), "round \(round): \(answer.debugDescription)")
                }
            }
        } catch {
            await listener.close()
            throw error
        }
        await listener.close()
    }

    @Test("a client that never finishes its upgrade request, or says nothing, is dropped after the upgrade deadline",
          arguments: ["GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", ""])
    func unfinishedRequestDropped(_ partial: String) async throws {
        let listener = try await WebSocketListener.bind()
        do {
            try await withTimeout(.seconds(100)) {
                let peer = try await RawWebSocketClient(connectingTo: listener.port)
                defer { peer.close() }
                try await peer.send(Array(partial.utf8))
                // Each read gives up after 5 s; the 10 s deadline must have closed the socket
                // well before 60 s, without an answer.
                for _ in 0..<12 {
                    if let rest = try? await peer.waitUntilClosed() {
                        #expect(rest.isEmpty, "\(String(decoding: rest, as: UTF8.self).debugDescription)")
                        return
                    }
                }
                Issue.record("the server kept an unfinished request open for 60 s")
            }
        } catch {
            await listener.close()
            throw error
        }
        await listener.close()
    }
}

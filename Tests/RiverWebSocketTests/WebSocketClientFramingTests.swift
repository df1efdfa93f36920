import Foundation
import River
import RiverWebSocket
import Synchronization
import Testing

/// A `ws://` client against a hand-written server (``RawServer``): the client reads the server's
/// frames itself, answers pings, takes part in the close handshake and closes with 1002 when the
/// server breaks RFC 6455.
@Suite("WebSocket client framing", .timeLimit(.minutes(1)))
struct WebSocketClientFramingTests {
    /// A client connected to `server`.
    static func connect(_ server: RawServer) async throws -> any RiverConnection {
        try await WebSocketConnector(url: "ws://127.0.0.1:\(server.port)/").connect(timeout: .seconds(30))
    }

    /// A close frame's payload: the code, big-endian, then the reason.
    static func closePayload(_ code: UInt16, _ reason: String = "") -> [UInt8] {
        [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)
    }

    @Test("a server ping is answered with a pong carrying the same payload",
          arguments: [[], Array("are you there".utf8), pattern(count: 125, seed: 8)])
    func pingAnswered(payload: [UInt8]) async throws {
        let server = try RawServer(.webSocket(then: ServerFrame.frame(opcode: 0x9, payload: payload)))
        defer { server.close() }
        try await withTimeout(.seconds(30)) {
            let client = try await Self.connect(server)
            let pong = await server.firstClientFrame()
            #expect(pong.opcode == 0xA)
            #expect(pong.payload == payload)
            client.abort()
        }
    }

    @Test("a server close with a code and reason reaches the consumer as closedByPeer, and the client echoes the code")
    func serverClose() async throws {
        let server = try RawServer(.webSocket(then: ServerFrame.close(code: 4000, reason: "bye")))
        defer { server.close() }
        try await withTimeout(.seconds(30)) {
            let client = try await Self.connect(server)
            var events = client.events.makeAsyncIterator()
            let closed = try await closure(&events)
            #expect(closed.code == 4000)
            #expect(closed.reason == "bye")
            #expect(closed.cause == .closedByPeer)
            #expect(!closed.initiatedLocally)
            let echo = await server.firstClientFrame()
            #expect(echo.opcode == 0x8)
            #expect(echo.payload == Self.closePayload(4000))
            // The client drops the socket after its answer.
            await server.clientWentAway()
        }
    }

    @Test("a server close without a code reads as 1005 and is answered with an empty close frame")
    func serverCloseWithoutCode() async throws {
        let server = try RawServer(.webSocket(then: ServerFrame.frame(opcode: 0x8, payload: [])))
        defer { server.close() }
        try await withTimeout(.seconds(30)) {
            let client = try await Self.connect(server)
            var events = client.events.makeAsyncIterator()
            let closed = try await closure(&events)
            #expect(closed.code == 1005)
            #expect(closed.cause == .closedByPeer)
            let echo = await server.firstClientFrame()
            #expect(echo.opcode == 0x8)
            #expect(echo.payload.isEmpty)
        }
    }

    static let violations = [
        ViolatingFrame(name: "masked frame", bytes: ServerFrame.frame(opcode: 0x2, payload: [1, 2, 3], maskKey: [9, 8, 7, 6])),
        ViolatingFrame(name: "RSV1 without an extension", bytes: ServerFrame.frame(opcode: 0x1, payload: Array("hi".utf8), reserved: 0x40)),
        ViolatingFrame(name: "continuation outside a message", bytes: ServerFrame.frame(opcode: 0x0, payload: [1])),
        ViolatingFrame(name: "close with code 1005", bytes: ServerFrame.close(code: 1005)),
    ]

    @Test("a server breaking RFC 6455 gets a 1002 close frame; the consumer gets .closed 1002 as protocolViolation",
          arguments: violations)
    func protocolViolation(_ violating: ViolatingFrame) async throws {
        // A valid message first (delivered), then the violation, then a message never delivered.
        let server = try RawServer(.webSocket(
            then: ServerFrame.frame(opcode: 0x2, payload: [1]) + violating.bytes + ServerFrame.frame(opcode: 0x2, payload: [2])))
        defer { server.close() }
        try await withTimeout(.seconds(30)) {
            let client = try await Self.connect(server)
            var events = client.events.makeAsyncIterator()
            #expect(try await nextMessage(&events) == [1])
            let event = try await nextEvent(&events)
            guard case .closed(let closed) = event else {
                Issue.record("expected .closed, got \(event)")
                return
            }
            #expect(closed.code == 1002, "\(closed)")
            #expect(closed.cause == .protocolViolation, "\(closed)")
            #expect(closed.initiatedLocally)
            #expect(!closed.reason.isEmpty)
            #expect(await events.next() == nil)
            let frame = await server.firstClientFrame()
            #expect(frame.opcode == 0x8)
            #expect(frame.payload.prefix(2) == [0x03, 0xEA], "\(frame.payload)")
            await server.clientWentAway()
        }
    }

    @Test("a text frame arrives as .textMessage, a binary one as .message")
    func textAndBinary() async throws {
        let server = try RawServer(.webSocket(
            then: ServerFrame.frame(opcode: 0x1, payload: Array("grüße".utf8)) + ServerFrame.frame(opcode: 0x2, payload: [0xFF])))
        defer { server.close() }
        try await withTimeout(.seconds(30)) {
            let client = try await Self.connect(server)
            var events = client.events.makeAsyncIterator()
            let first = try await nextEvent(&events)
            guard case .textMessage(let text) = first else {
                Issue.record("expected a text message, got \(first)")
                return
            }
            #expect(String(decoding: text, as: UTF8.self) == "grüße")
            #expect(try await nextMessage(&events) == [0xFF])
            client.abort()
        }
    }

    @Test("a message sent in several fragments, with a ping between them, arrives whole and the ping is answered")
    func fragmentedMessage() async throws {
        let whole = pattern(count: 200_000, seed: 6)
        let frames = ServerFrame.frame(opcode: 0x2, fin: false, payload: Array(whole[0..<1])) + ServerFrame.frame(opcode: 0x9, payload: [5])
            + ServerFrame.frame(opcode: 0x0, fin: false, payload: Array(whole[1..<70_000]))
            + ServerFrame.frame(opcode: 0x0, fin: false, payload: [])
            + ServerFrame.frame(opcode: 0x0, payload: Array(whole[70_000...]))
        let server = try RawServer(.webSocket(then: frames))
        defer { server.close() }
        try await withTimeout(.seconds(30)) {
            let client = try await Self.connect(server)
            var events = client.events.makeAsyncIterator()
            #expect(try await nextMessage(&events) == whole)
            let pong = await server.firstClientFrame()
            #expect(pong.opcode == 0xA && pong.payload == [5])
            client.abort()
        }
    }

    @Test("close(code:reason:) sends a close frame; the consumer gets .closed once the server answers, and the client drops the socket")
    func clientCloseAnswered() async throws {
        let server = try RawServer(.webSocket(then: [], answerClose: true))
        defer { server.close() }
        try await withTimeout(.seconds(30)) {
            let client = try await Self.connect(server)
            var events = client.events.makeAsyncIterator()
            client.close(code: 4321, reason: "done here")
            let frame = await server.firstClientFrame()
            #expect(frame.opcode == 0x8)
            #expect(frame.payload == Self.closePayload(4321, "done here"))
            let closed = try await closure(&events)
            #expect(closed.code == 4321)
            #expect(closed.reason == "done here")
            #expect(closed.cause == .closedLocally)
            #expect(closed.initiatedLocally)
            await server.clientWentAway()
        }
    }

    @Test("close(code:reason:) against a server that never answers still ends with .closed (the answer is awaited at most 5 s)")
    func clientCloseUnanswered() async throws {
        let server = try RawServer(.webSocket(then: []))
        defer { server.close() }
        try await withTimeout(.seconds(40)) {
            let client = try await Self.connect(server)
            var events = client.events.makeAsyncIterator()
            client.close(code: 1000, reason: "")
            let frame = await server.firstClientFrame()
            #expect(frame.payload == Self.closePayload(1000))
            let closed = try await closure(&events)
            #expect(closed.code == 1000 && closed.initiatedLocally, "\(closed)")
            await server.clientWentAway()
        }
    }

    /// An upgrade response the client must refuse, and what the error must mention.
    struct BadUpgrade: CustomTestStringConvertible, Sendable {
        var name: String
        var response: String
        var status: Int?
        var mentions: String
        var testDescription: String { name }
    }

    static let badUpgrades = [
        BadUpgrade(
            name: "101 with a wrong accept key",
            response: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            status: 101, mentions: "Sec-WebSocket-Accept"),
        BadUpgrade(
            name: "101 without Upgrade: websocket",
            response: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", status: 101, mentions: "Upgrade: websocket"),
        BadUpgrade(name: "not HTTP", response: "SSH-2.0-OpenSSH_9.6\r\n\r\n", status: nil, mentions: "not HTTP"),
    ]

    @Test("an upgrade response that does not open a WebSocket fails connect with httpUpgrade", arguments: badUpgrades)
    func badUpgrade(_ bad: BadUpgrade) async throws {
        let server = try RawServer(.answer(bad.response))
        defer { server.close() }
        let error = await #expect(throws: RiverConnectError.self) {
            _ = try await Self.connect(server)
        }
        #expect(error?.kind == .httpUpgrade, "\(String(describing: error))")
        #expect(error?.httpStatus == bad.status, "\(String(describing: error))")
        #expect(error?.message.contains(bad.mentions) == true, "\(String(describing: error))")
    }

    @Test("a RiverClient whose server sends a masked frame after the River handshake disconnects with cause protocolViolation")
    func riverClientSeesProtocolViolation() async throws {
        let server = try RawServer(.riverHandshake(then: ServerFrame.frame(opcode: 0x2, payload: [1], maskKey: [1, 2, 3, 4])))
        defer { server.close() }
        let configuration = {
            var configuration = RiverClient.Configuration(codec: JSONCodec(), randomSeed: 11)
            // Long enough for a loaded machine, short enough that a stalled attempt is retried
            // within the test's 50 s (one full-suite run in several saw the first attempt
            // neither open nor time out within 30 s; not reproduced alone, under investigation).
            configuration.session.connectionTimeout = .seconds(10)
            configuration.session.handshakeTimeout = .seconds(10)
            return configuration
        }()
        let statuses = StatusLog()
        do {
            try await withTimeout(.seconds(50)) {
                try await withRiverClient(url: "ws://127.0.0.1:\(server.port)/", configuration: configuration) { client in
                    let events = client.events()
                    client.connect()
                    var connected = false
                    for await event in events {
                        guard case .connectionStatus(let status) = event else { continue }
                        statuses.append("\(status)")
                        if case .connected = status { connected = true }
                        // The subscription starts with the current status ("not connected").
                        if case .disconnected(let reason) = status, connected {
                            #expect(reason.hasPrefix("\(RiverFailureCause.Kind.protocolViolation): "), "\(reason)")
                            #expect(reason.contains("1002"), "\(reason)")
                            break
                        }
                    }
                    client.close()
                }
                // The server got the client's 1002 close frame after the handshake.
                #expect(await server.clientSentClose(code: 1002))
            }
        } catch {
            Issue.record("\(error); statuses: \(statuses.entries)")
        }
    }
}

/// What a test saw, readable after a timeout cancelled the task that recorded it.
final class StatusLog: Sendable {
    private let log = Mutex<[String]>([])

    func append(_ entry: String) { log.withLock { $0.append(entry) } }

    var entries: [String] { log.withLock { $0 } }
}

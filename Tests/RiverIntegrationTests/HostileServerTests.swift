import River
import RiverTesting
import RiverTestServer
import RiverWebSocket
import Testing

/// A hostile or broken server: the client must stay up, follow River's rules (WIRE-FACTS:
/// duplicates dropped silently, a seq from the future closes the connection and reconnects,
/// a wrong `from` or an undecodable frame destroys the session with a protocol error event,
/// a malformed handshake reply is a handshake failure, unknown-stream messages are dropped)
/// and report a protocol error where one applies.
@Suite("Hostile server", .timeLimit(.minutes(2)))
struct HostileServerTests {
    /// A frame a server should never send, and the codec the client runs.
    struct HostileFrame: Sendable, CustomTestStringConvertible {
        var name: String
        var codecName: String
        var bytes: [UInt8]
        var testDescription: String { "\(codecName): \(name)" }
        var codec: any RiverCodec { codecName == "json" ? JSONCodec() : MessagePackCodec() }
    }

    static let undecodable: [HostileFrame] = {
        var frames: [HostileFrame] = []
        for codec in ["json", "msgpack"] {
            frames.append(HostileFrame(name: "garbage", codecName: codec, bytes: [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0xFF, 0x7B]))
            frames.append(HostileFrame(name: "empty frame", codecName: codec, bytes: []))
            frames.append(HostileFrame(name: "valid value, not a message", codecName: codec,
                                       bytes: codec == "json" ? Array("[1,2,3]".utf8) : [0x93, 0x01, 0x02, 0x03]))
        }
        // msgpack headers claiming billions of elements or bytes, with nothing behind them.
        for (name, bytes) in [
            ("map32 of 4G entries", [0xDF, 0xFF, 0xFF, 0xFF, 0xFF] as [UInt8]),
            ("array32 of 4G elements", [0xDD, 0xFF, 0xFF, 0xFF, 0xFF]),
            ("str32 of 4 GB", [0xDB, 0xFF, 0xFF, 0xFF, 0xFF, 0x41]),
            ("bin32 of 4 GB", [0xC6, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]),
            ("ext32 of 4 GB", [0xC9, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]),
            ("map16 of 65535 nils", [0xDE, 0xFF, 0xFF] + [UInt8](repeating: 0xC0, count: 1024)),
            ("100,000 nested arrays", [UInt8](repeating: 0x91, count: 100_000) + [0xC0]),
        ] {
            frames.append(HostileFrame(name: name, codecName: "msgpack", bytes: bytes))
        }
        frames.append(HostileFrame(name: "100,000 nested arrays", codecName: "json",
                                   bytes: [UInt8](repeating: UInt8(ascii: "["), count: 100_000)))
        frames.append(HostileFrame(name: "huge number", codecName: "json",
                                   bytes: Array("{\"seq\":1e999999999}".utf8)))
        frames.append(HostileFrame(name: "invalid UTF-8", codecName: "json",
                                   bytes: Array("{\"id\":\"".utf8) + [0xC3, 0x28, 0xFF] + Array("\"}".utf8)))
        return frames
    }()

    static let codecs = ["json", "msgpack"]

    /// The error an `add` call on `client` ends with (`nil` when it succeeds).
    static func failure(of client: RiverClient) async -> RiverError? {
        do {
            _ = try await client.rpc(Reference.add, NumberInit(n: 1))
            return nil
        } catch {
            return error as? RiverError
        }
    }

    /// A client of `server` with timings that never fire during a test (the scripted server
    /// sends no heartbeats), even when a parallel `swift test` on a loaded machine delays the
    /// client's work by seconds, and fast reconnects.
    func withHostileClient(
        _ server: HostileServer, _ body: (RiverClient, EventLog) async throws -> Void
    ) async throws {
        var configuration = RiverClient.Configuration(serverID: HostileServer.serverID, codec: server.codec, randomSeed: 7)
        fastClient(&configuration)
        configuration.session.heartbeatInterval = .seconds(10)
        configuration.session.connectionTimeout = .seconds(30)
        configuration.session.handshakeTimeout = .seconds(30)
        configuration.session.sessionDisconnectGrace = .seconds(60)
        try await withRiverClient(connector: server.connector, configuration: configuration) { client in
            let log = EventLog(client.events())
            try await body(client, log)
        }
    }

    /// A new call on a new, well-behaved connection works.
    func laterCallWorks(_ client: RiverClient, _ server: HostileServer, expectSameSession: String? = nil) async throws {
        async let reply = client.rpc(Reference.add, NumberInit(n: 41))
        var connection = try await server.nextConnection()
        let request = try await connection.handshake()
        if let expectSameSession { #expect(request.sessionId == expectSameSession) }
        let open = try await connection.receiveSequenced()
        #expect(open.serviceName == "test" && open.procedureName == "add")
        connection.sendResult(streamId: open.streamId, ["result": 42])
        #expect(try await reply.get().result == 42)
    }

    @Test(arguments: undecodable)
    func undecodableFrameDestroysTheSessionWithAProtocolError(frame: HostileFrame) async throws {
        let server = HostileServer(codec: frame.codec)
        try await withHostileClient(server) { client, log in
            async let failed = Self.failure(of: client)
            var connection = try await server.nextConnection()
            let request = try await connection.handshake()
            _ = try await connection.receiveSequenced()
            connection.connection.send(frame.bytes)
            let error = await failed
            #expect(error?.code == .unexpectedDisconnect)
            // A JSON client reading a frame that starts like a msgpack map names the codec.
            let expected: RiverFailureCause.Kind =
                frame.codecName == "json" && frame.name == "garbage" ? .codecMismatch : .protocolViolation
            #expect(error?.cause?.kind == expected)
            #expect(error?.cause?.wasConnected == true)
            #expect(error?.message.hasPrefix("lost the connection to SERVER: \(expected)") == true)
            #expect(error?.underlying != nil)
            _ = try await connection.waitUntilClosed()
            // Events reach the log through its own task: wait for them (with a deadline).
            try await waitUntil("the protocol error event") { !log.protocolErrors.isEmpty }
            #expect(log.protocolErrors.map(\.kind) == [.invalidMessage])
            try await waitUntil("the session to be destroyed") {
                log.snapshot.contains { if case .sessionStatus(.destroyed(request.sessionId, _)) = $0 { true } else { false } }
            }
            #expect(log.snapshot.contains { if case .sessionStatus(.destroyed(request.sessionId, _)) = $0 { true } else { false } })
            try await laterCallWorks(client, server)
        }
    }

    @Test(arguments: codecs)
    func textFrameClosesTheConnectionAndTheSessionResumes(codecName: String) async throws {
        let server = HostileServer(codec: codecName == "json" ? JSONCodec() : MessagePackCodec())
        try await withHostileClient(server) { client, log in
            async let reply = client.rpc(Reference.add, NumberInit(n: 1))
            var connection = try await server.nextConnection()
            let request = try await connection.handshake()
            _ = try await connection.receiveSequenced()
            connection.connection.sendText(Array("{\"hello\":\"text\"}".utf8))
            _ = try await connection.waitUntilClosed()
            // The same session reconnects and replays the rpc's open message.
            var second = try await server.nextConnection()
            second.seq = connection.seq
            second.ack = connection.ack
            let resumed = try await second.handshake()
            #expect(resumed.sessionId == request.sessionId)
            let replayed = try await second.receiveSequenced()
            #expect(replayed.seq == 0)
            second.sendResult(streamId: replayed.streamId, ["result": 1])
            #expect(try await reply.get().result == 1)
            // Events reach the log through its own task: wait for them (with a deadline).
            try await waitUntil("the protocol error event") { !log.protocolErrors.isEmpty }
            #expect(log.protocolErrors.map(\.kind) == [.invalidMessage])
            #expect(!log.snapshot.contains { if case .sessionStatus(.destroyed) = $0 { true } else { false } })
        }
    }

    @Test(arguments: codecs)
    func messagesForUnknownStreamsAreDropped(codecName: String) async throws {
        let server = HostileServer(codec: codecName == "json" ? JSONCodec() : MessagePackCodec())
        try await withHostileClient(server) { client, log in
            async let reply = client.rpc(Reference.add, NumberInit(n: 1))
            var connection = try await server.nextConnection()
            _ = try await connection.handshake()
            let open = try await connection.receiveSequenced()
            connection.sendResult(streamId: "nosuchstream", ["result": 666])
            connection.send(streamId: "nosuchstrea2", flags: .streamOpen, payload: ["n": 1])
            connection.sendResult(streamId: open.streamId, ["result": 1])
            #expect(try await reply.get().result == 1)
            #expect(log.protocolErrors.isEmpty)
            try await laterCallOnSameConnection(client, &connection)
        }
    }

    @Test(arguments: codecs)
    func resultForACancelledStreamIsIgnored(codecName: String) async throws {
        let server = HostileServer(codec: codecName == "json" ? JSONCodec() : MessagePackCodec())
        try await withHostileClient(server) { client, log in
            let call = Task { try await client.rpc(Reference.add, NumberInit(n: 1)) }
            var connection = try await server.nextConnection()
            _ = try await connection.handshake()
            let open = try await connection.receiveSequenced()
            call.cancel()
            let cancel = try await connection.receiveSequenced()
            #expect(cancel.streamId == open.streamId)
            #expect(cancel.controlFlags.contains(.streamCancel))
            let error = await #expect(throws: RiverError.self) { _ = try await call.value }
            #expect(error?.code == .cancel)
            connection.sendResult(streamId: open.streamId, ["result": 1])
            connection.send(streamId: open.streamId, flags: .streamClosed, payload: ControlPayload.close.value)
            try await laterCallOnSameConnection(client, &connection)
            #expect(log.protocolErrors.isEmpty)
        }
    }

    @Test(arguments: codecs)
    func duplicateSeqIsDroppedSilently(codecName: String) async throws {
        let server = HostileServer(codec: codecName == "json" ? JSONCodec() : MessagePackCodec())
        try await withHostileClient(server) { client, log in
            async let echoed: [String] = client.stream(Reference.echo, Empty()) { writer, responses in
                try await writer.finish()
                var all: [String] = []
                for try await response in responses { all.append(try response.get().response) }
                return all
            }
            var connection = try await server.nextConnection()
            _ = try await connection.handshake()
            let open = try await connection.receiveSequenced()
            _ = try await connection.receiveSequenced()  // the half-close
            let first = ResultEnvelope.ok(["response": "a"]).value
            connection.send(streamId: open.streamId, payload: first)  // seq 0
            connection.send(streamId: open.streamId, payload: first, seq: 0)  // a duplicate of seq 0
            connection.send(streamId: open.streamId, payload: ResultEnvelope.ok(["response": "b"]).value)  // seq 1
            connection.send(streamId: open.streamId, payload: ResultEnvelope.ok(["response": "x"]).value, seq: 1)
            connection.send(streamId: open.streamId, flags: .streamClosed, payload: ControlPayload.close.value)
            #expect(try await echoed == ["a", "b"])
            #expect(log.protocolErrors.isEmpty)
            try await laterCallOnSameConnection(client, &connection)
        }
    }

    @Test(arguments: codecs)
    func seqFromTheFutureClosesTheConnectionAndReconnects(codecName: String) async throws {
        let server = HostileServer(codec: codecName == "json" ? JSONCodec() : MessagePackCodec())
        try await withHostileClient(server) { client, log in
            async let reply = client.rpc(Reference.add, NumberInit(n: 1))
            var connection = try await server.nextConnection()
            let request = try await connection.handshake()
            let open = try await connection.receiveSequenced()
            connection.send(streamId: open.streamId, flags: .streamClosed, payload: ResultEnvelope.ok(["result": 9]).value, seq: 5)
            _ = try await connection.waitUntilClosed()
            var second = try await server.nextConnection()
            second.ack = connection.ack
            let resumed = try await second.handshake()
            #expect(resumed.sessionId == request.sessionId, "the session survives")
            #expect(resumed.expectedSessionState.nextExpectedSeq == 0, "the future message was not accepted")
            let replayed = try await second.receiveSequenced()
            #expect(replayed.streamId == open.streamId)
            second.sendResult(streamId: open.streamId, ["result": 1])
            #expect(try await reply.get().result == 1)
            // Events reach the log through its own task: wait for them (with a deadline).
            try await waitUntil("the protocol error event") { !log.protocolErrors.isEmpty }
            #expect(log.protocolErrors.map(\.kind) == [.invalidMessage])
            #expect(!log.snapshot.contains { if case .sessionStatus(.destroyed) = $0 { true } else { false } })
        }
    }

    /// A connection the client has left (after a watchdog or an out-of-order message) may still
    /// deliver what it had read before the close took effect (libwebsockets closes on its own
    /// thread). Such a frame, arriving while the client handshakes on its next connection, is
    /// not that connection's handshake response: it is dropped and the session survives.
    @Test(arguments: codecs)
    func frameOfAReplacedConnectionIsIgnored(codecName: String) async throws {
        let server = HostileServer(codec: codecName == "json" ? JSONCodec() : MessagePackCodec())
        try await withHostileClient(server) { client, log in
            async let reply = client.rpc(Reference.add, NumberInit(n: 1))
            var first = try await server.nextConnection()
            let request = try await first.handshake()
            let open = try await first.receiveSequenced()
            try await waitUntil("the first connection's attempt number") { Self.firstAttempt(in: log.snapshot) != nil }
            let firstAttempt = try #require(Self.firstAttempt(in: log.snapshot))
            first.connection.drop()
            var second = try await server.nextConnection()
            second.ack = first.ack
            let stale = try server.codec.encode(TransportMessage(
                id: RiverID.generate(), from: HostileServer.serverID, to: first.clientID, seq: 0, ack: first.ack,
                streamId: open.streamId, controlFlags: .streamClosed, payload: ResultEnvelope.ok(["result": 7]).value))
            let resumed = try await second.handshake {
                // The client now handshakes on its second connection; the first one delivers late.
                client.transport.handle(.message(stale), attempt: UInt64(firstAttempt))
            }
            #expect(resumed.sessionId == request.sessionId)
            let replayed = try await second.receiveSequenced()
            #expect(replayed.streamId == open.streamId)
            second.sendResult(streamId: open.streamId, ["result": 1])
            #expect(try await reply.get().result == 1)
            #expect(log.protocolErrors.isEmpty)
            #expect(!log.snapshot.contains { if case .sessionStatus(.destroyed) = $0 { true } else { false } })
        }
    }

    /// The attempt number of the client's first connection, from its events.
    static func firstAttempt(in events: [RiverEvent]) -> Int? {
        events.lazy.compactMap { if case .connectionStatus(.connecting(let attempt)) = $0 { attempt } else { nil } }.first
    }

    @Test(arguments: codecs)
    func messageFromAnotherPeerDestroysTheSession(codecName: String) async throws {
        let server = HostileServer(codec: codecName == "json" ? JSONCodec() : MessagePackCodec())
        try await withHostileClient(server) { client, log in
            async let failed = Self.failure(of: client)
            var connection = try await server.nextConnection()
            _ = try await connection.handshake()
            let open = try await connection.receiveSequenced()
            connection.send(streamId: open.streamId, flags: .streamClosed, payload: ResultEnvelope.ok(["result": 1]).value, from: "MALLORY")
            let error = await failed
            #expect(error?.code == .unexpectedDisconnect)
            #expect(error?.cause?.kind == .wrongServer)
            #expect(error?.message.contains("MALLORY") == true)
            _ = try await connection.waitUntilClosed()
            // Events reach the log through its own task: wait for them (with a deadline).
            try await waitUntil("the protocol error event") { !log.protocolErrors.isEmpty }
            #expect(log.protocolErrors.map(\.kind) == [.invalidMessage])
            #expect(log.protocolErrors.first?.message.contains("MALLORY") == true)
            try await laterCallWorks(client, server)
        }
    }

    static let malformedHandshakeReplies: [(String, RiverValue)] = [
        ("status is a string", ["type": "HANDSHAKE_RESP", "status": "nope"]),
        ("ok without sessionId", ["type": "HANDSHAKE_RESP", "status": ["ok": true]]),
        ("not a handshake reply", ["type": "ACK"]),
        ("payload is a number", 42),
    ]

    @Test(arguments: codecs, 0..<malformedHandshakeReplies.count)
    func malformedHandshakeReplyIsAHandshakeFailure(codecName: String, index: Int) async throws {
        let server = HostileServer(codec: codecName == "json" ? JSONCodec() : MessagePackCodec())
        try await withHostileClient(server) { client, log in
            async let failed = Self.failure(of: client)
            var connection = try await server.nextConnection()
            try await connection.handshake(reply: Self.malformedHandshakeReplies[index].1)
            let error = await failed
            #expect(error?.code == .unexpectedDisconnect)
            #expect(error?.cause?.kind == .protocolViolation)
            #expect(error?.cause?.wasConnected == false)
            #expect(error?.message.hasPrefix("could not connect to SERVER: protocolViolation: invalid handshake response") == true)
            _ = try await connection.waitUntilClosed()
            // Events reach the log through its own task: wait for them (with a deadline).
            try await waitUntil("the protocol error event") { !log.protocolErrors.isEmpty }
            #expect(log.protocolErrors.map(\.kind) == [.handshakeFailed(code: .malformedHandshake)])
            try await laterCallWorks(client, server)
        }
    }

    @Test(arguments: codecs)
    func undecodableHandshakeReplyIsAHandshakeFailure(codecName: String) async throws {
        let server = HostileServer(codec: codecName == "json" ? JSONCodec() : MessagePackCodec())
        try await withHostileClient(server) { client, log in
            async let failed = Self.failure(of: client)
            let connection = try await server.nextConnection()
            _ = try await connection.receive()
            connection.connection.send([0xFF, 0x00, 0x13, 0x37])
            let error = await failed
            #expect(error?.code == .unexpectedDisconnect)
            #expect(error?.cause?.kind == .protocolViolation)
            _ = try await connection.waitUntilClosed()
            // Events reach the log through its own task: wait for them (with a deadline).
            try await waitUntil("the protocol error event") { !log.protocolErrors.isEmpty }
            #expect(log.protocolErrors.map(\.kind) == [.handshakeFailed(code: .malformedHandshake)])
            try await laterCallWorks(client, server)
        }
    }

    @Test(arguments: codecs)
    func handshakeReplyInTheOtherCodecIsACodecMismatch(codecName: String) async throws {
        let codec: any RiverCodec = codecName == "json" ? JSONCodec() : MessagePackCodec()
        let other: any RiverCodec = codecName == "json" ? MessagePackCodec() : JSONCodec()
        let server = HostileServer(codec: codec)
        try await withHostileClient(server) { client, log in
            async let failed = Self.failure(of: client)
            let connection = try await server.nextConnection()
            _ = try await connection.receive()
            let reply = TransportMessage(
                id: "r", from: "SERVER", to: "client", seq: 0, ack: 0, streamId: "hs", controlFlags: [],
                payload: ControlPayload.handshakeResponse(.ok(sessionId: "s")).value)
            connection.connection.send(try other.encode(reply))
            let error = await failed
            #expect(error?.code == .unexpectedDisconnect)
            #expect(error?.cause?.kind == .codecMismatch)
            #expect(error?.message.hasPrefix("could not connect to SERVER: codecMismatch") == true)
            _ = try await connection.waitUntilClosed()
            try await laterCallWorks(client, server)
        }
    }

    /// A reply larger than the client's WebSocket message limit: the connection closes with
    /// 1009. The server would replay that message after every reconnect, so the client
    /// destroys the session at once (an invalid-message protocol error): the call ends with
    /// UNEXPECTED_DISCONNECT, and the next call works on a new session.
    @Test(arguments: ["json", "msgpack"])
    func frameLargerThanTheLimitEndsTheCallAndTheClientRecovers(codecName: String) async throws {
        let codec: any RiverCodec = codecName == "json" ? JSONCodec() : MessagePackCodec()
        // Patient timings on both sides: the session is lost to the oversized frame, never to a
        // watchdog or grace period on a loaded machine (the grace period, 60 s, is also far
        // longer than the call is allowed to take).
        let serverConfiguration = RiverTestServer.Configuration(codec: codec, timings: .patient)
        try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { _, port in
            let connector = try WebSocketConnector(
                url: "ws://127.0.0.1:\(port)", configuration: .init(maximumMessageSize: 64 * 1024))
            var configuration = RiverClient.Configuration(serverID: serverConfiguration.serverID, codec: codec, randomSeed: 3)
            configuration.makePatient()
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                let log = EventLog(client.events())
                let big = [UInt8](repeating: 0x5A, count: 100 * 1024)
                let error = await #expect(throws: RiverError.self) {
                    _ = try await client.rpc(Reference.echoBinary, ["data": .bytes(big)], options: CallOptions(timeout: .seconds(20)))
                }
                // The cause, not the call's 20 s deadline (deadlineExceeded), ended it.
                #expect(error?.code == .unexpectedDisconnect)
                #expect(error?.cause?.kind == .frameTooLarge, "\(String(describing: error))")
                try await waitUntil("the 1009 protocol error event") {
                    log.snapshot.contains {
                        if case .protocolError(let event) = $0 { event.kind == .invalidMessage && event.message.contains("1009") } else { false }
                    }
                }
                let small = try await client.rpc(Reference.add, NumberInit(n: 2), options: CallOptions(timeout: .seconds(20))).get()
                #expect(small.result == 2)
            }
        }
    }

    /// The server closes the connection with 1009 (a message of this client's was too big for
    /// it): the disconnect names `frameTooLarge`, and so does the call that ends with it. (With
    /// transparent reconnects off the session ends at this first loss; with them on the client
    /// reconnects and replays, as the reference does.)
    @Test(arguments: codecs)
    func serverClosingWith1009IsFrameTooLarge(codecName: String) async throws {
        let server = HostileServer(codec: codecName == "json" ? JSONCodec() : MessagePackCodec())
        var configuration = RiverClient.Configuration(serverID: HostileServer.serverID, codec: server.codec, randomSeed: 9)
            .patient()
        configuration.session.enableTransparentReconnects = false
        try await withRiverClient(connector: server.connector, configuration: configuration) { client in
            let log = EventLog(client.events())
            async let failed = Self.failure(of: client)
            var connection = try await server.nextConnection()
            try await connection.handshake()
            _ = try await connection.receiveSequenced()
            connection.connection.close(code: 1009, reason: "message too big")
            let error = await failed
            #expect(error?.code == .unexpectedDisconnect)
            #expect(error?.cause?.kind == .reconnectsDisabled, "\(String(describing: error))")
            #expect(error?.cause?.root.kind == .frameTooLarge, "\(String(describing: error))")
            #expect(error?.message.contains("lost the connection to SERVER") == true, "\(String(describing: error))")
            try await waitUntil("the frameTooLarge disconnect event") {
                log.snapshot.contains {
                    if case .connectionStatus(.disconnected(let reason)) = $0 {
                        reason.hasPrefix("frameTooLarge: a message exceeded the peer's size limit")
                    } else {
                        false
                    }
                }
            }
        }
    }

    /// A second rpc on the same scripted connection.
    func laterCallOnSameConnection(_ client: RiverClient, _ connection: inout ScriptedConnection) async throws {
        async let reply = client.rpc(Reference.add, NumberInit(n: 99))
        var message = try await connection.receiveSequenced()
        while message.procedureName != "add" { message = try await connection.receiveSequenced() }
        connection.sendResult(streamId: message.streamId, ["result": 100])
        #expect(try await reply.get().result == 100)
    }
}

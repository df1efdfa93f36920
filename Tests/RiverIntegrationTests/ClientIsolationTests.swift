import River
import RiverReferenceClient
import RiverTestServer
import RiverWebSocket
import Synchronization
import Testing

/// Two `RiverClient`s in one process share the one libwebsockets I/O thread: a client flooded
/// with large messages must slow down only its own peer, never the other client's rpcs and
/// heartbeats (issue #18, item 6).
@Suite("Client isolation", .timeLimit(.minutes(3)))
struct ClientIsolationTests {
    /// Messages the flooded client gets, each about 1 MiB of JSON.
    static let floodCount = 96
    /// Characters of each flood message's text. Each is written as a `\u00e9` escape (6 bytes of
    /// JSON, 2 bytes decoded): slow to decode next to loopback's speed, small once decoded.
    static let floodCharacters = (1 << 20) / 6

    /// The flood of one subscription, sent as fast as loopback takes it: the flooded client's
    /// decoding falls behind (its backlog passes the 64 MiB bound, so reading from that
    /// connection is paused), and its application reads the results slowly, one per rpc the
    /// other client completes.
    ///
    /// The other client runs watchdog-sensitive timings (heartbeats every 250 ms, dead after
    /// 2 s): were the shared I/O thread held while the flooded connection's backlog drains, its
    /// heartbeats would stop and its watchdog would close the connection. It must see one
    /// connection and one session from start to end, and every rpc must complete.
    @Test("a client flooded with large messages read slowly does not stall another client's rpcs or heartbeats")
    func floodedClientDoesNotStallAnother() async throws {
        let timings = RiverTestServer.Timings(
            heartbeatInterval: .milliseconds(250), heartbeatsUntilDead: 8,
            sessionDisconnectGrace: .seconds(60), handshakeTimeout: .seconds(30))
        let serverConfiguration = RiverTestServer.Configuration(codec: JSONCodec(), timings: timings)
        try await FloodServer.withRunning(count: Self.floodCount, characters: Self.floodCharacters) { floodPort in
            try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { _, port in
                var quietConfiguration = RiverClient.Configuration(
                    serverID: serverConfiguration.serverID, codec: JSONCodec(), randomSeed: 11)
                quietConfiguration.makePatient()
                quietConfiguration.session.heartbeatInterval = timings.heartbeatInterval
                quietConfiguration.session.heartbeatsUntilDead = timings.heartbeatsUntilDead
                var floodedConfiguration = RiverClient.Configuration(serverID: FloodServer.serverID, codec: JSONCodec(), randomSeed: 12)
                // The flood server sends no heartbeats: the flooded client's own watchdog stays out of it.
                floodedConfiguration.makePatient()

                let quietEvents = try await withRiverClient(url: "ws://127.0.0.1:\(port)", configuration: quietConfiguration) { quiet in
                    let quietLog = EventLog(quiet.events())
                    _ = try await quiet.rpc(Reference.add, NumberInit(n: 0)).get()
                    try await withRiverClient(url: "ws://127.0.0.1:\(floodPort)", configuration: floodedConfiguration) { flooded in
                        let (completions, completed) = AsyncStream.makeStream(of: Int.self)
                        let stop = Atomic(false)
                        // The quiet client: rpcs one after another until the flood has been read.
                        async let rpcs: Int = {
                            var count = 0
                            defer { completed.finish() }
                            while !stop.load(ordering: .relaxed) {
                                _ = try await quiet.rpc(Reference.add, NumberInit(n: 1)).get()
                                count += 1
                                completed.yield(count)
                            }
                            return count
                        }()
                        // The flooded client's application: one result per rpc the quiet client completes.
                        let (received, intact) = try await flooded.subscribe(FloodServer.procedure, [:] as RiverValue) { results in
                            var paced = completions.makeAsyncIterator()
                            var received: [Int] = []
                            var intact = true
                            for try await result in results {
                                guard case .success(let value) = result else {
                                    Issue.record("\(result)")
                                    break
                                }
                                received.append(Int(value["i"]?.doubleValue ?? -1))
                                if value["text"]?.stringValue?.count != Self.floodCharacters { intact = false }
                                if received.count == Self.floodCount { break }
                                _ = await paced.next()
                            }
                            return (received, intact)
                        }
                        stop.store(true, ordering: .relaxed)
                        let rpcCount = try await rpcs
                        #expect(received == Array(0..<Self.floodCount))
                        #expect(intact)
                        #expect(rpcCount >= Self.floodCount - 1)
                    }
                    quiet.close()
                    return await quietLog.finish()
                }
                // The quiet client kept its one connection and its one session throughout: no
                // watchdog fired, nothing was lost.
                let connected = quietEvents.filter { if case .connectionStatus(.connected) = $0 { true } else { false } }
                #expect(connected.count == 1, "\(quietEvents)")
                for event in quietEvents {
                    switch event {
                    case .connectionStatus(.disconnected(let reason)):
                        #expect(reason == "not connected" || reason.hasPrefix("clientClosed"), "\(event)")
                    case .sessionStatus(.destroyed(_, let reason)):
                        #expect(reason.hasPrefix("clientClosed"), "\(event)")
                    case .protocolError:
                        Issue.record("\(event)")
                    default:
                        break
                    }
                }
            }
        }
    }
}

/// A River server (JSON, over a real WebSocket) that answers the handshake and then sends one
/// subscription a flood of large results as fast as loopback takes them, built once rather than
/// encoded per message, so that the client's decoding is what falls behind. Heartbeats and
/// other client messages are read and ignored.
enum FloodServer {
    static let serverID = "FLOOD"
    static let procedure = SubscriptionProcedure<RiverValue, RiverValue, RiverServiceError>(service: "flood", procedure: "big")

    /// Runs a flood server on 127.0.0.1 port 0 for the duration of `body` (given the port). Its
    /// first connection's subscription gets `count` results `{"i": n, "text": …}` whose text is
    /// `characters` times "é", each written as a `\u00e9` escape.
    static func withRunning<Value: Sendable>(
        count: Int, characters: Int, _ body: (Int) async throws -> Value
    ) async throws -> Value {
        let listener = try await WebSocketListener.bind()
        let text = Array(String(repeating: "\\u00e9", count: characters).utf8)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var accepted = listener.connections.makeAsyncIterator()
                guard let connection = await accepted.next() else { return }
                await serve(connection, count: count, text: text)
            }
            do {
                let value = try await body(listener.port)
                // Closing the listener drops its connection, which ends the serving child.
                await listener.close()
                try await group.waitForAll()
                return value
            } catch {
                await listener.close()
                throw error
            }
        }
    }

    private static func serve(_ connection: any RiverConnection, count: Int, text: [UInt8]) async {
        let codec = JSONCodec()
        var clientID = ""
        for await event in connection.events {
            guard case .message(let bytes) = event, let message = try? codec.decode(bytes) else { continue }
            if case .handshakeRequest(let request)? = try? ControlPayload.parse(message.payload) {
                clientID = message.from
                let reply = TransportMessage(
                    id: RiverID.generate(), from: serverID, to: clientID, seq: 0, ack: 0,
                    streamId: message.streamId, controlFlags: [],
                    payload: ControlPayload.handshakeResponse(.ok(sessionId: request.sessionId)).value)
                if let bytes = try? codec.encode(reply) { connection.send(bytes) }
            } else if message.procedureName == procedure.procedureName {
                for i in 0..<count {
                    let head = #"{"id":"flood\#(i)","from":"\#(serverID)","to":"\#(clientID)","seq":\#(i),"ack":\#(message.seq + 1),"#
                        + #""streamId":"\#(message.streamId)","controlFlags":0,"payload":{"ok":true,"payload":{"i":\#(i),"text":""#
                    var frame = Array(head.utf8)
                    frame.reserveCapacity(frame.count + text.count + 4)
                    frame.append(contentsOf: text)
                    frame.append(contentsOf: Array(#""}}}"#.utf8))
                    connection.send(frame)
                }
            }
        }
    }
}

import River
import RiverTestServer
import RiverWebSocket
import Testing

@Suite("Server over WebSocket")
struct ServerWebSocketTests {
    @Test(arguments: ServerTestCodec.allCases)
    func handshakeAndRpcOverLoopback(codec: ServerTestCodec) async throws {
        try await RiverTestServer.withRunningServer(configuration: .init(codec: codec.codec, timings: quietTimings)) { server, port in
            let connector = try WebSocketConnector(url: "ws://127.0.0.1:\(port)")
            let connection = try await connector.connect(timeout: .seconds(30))
            let client = WebSocketTestClient(connection: connection, codec: codec.codec)
            let sessionID = RiverID.generateSessionID()
            try client.send(
                TransportMessage(
                    id: RiverID.generate(), from: "ws-client", to: "SERVER", seq: 0, ack: 0, streamId: RiverID.generate(),
                    controlFlags: [],
                    payload: ControlPayload.handshakeRequest(
                        HandshakeRequest(sessionId: sessionID, expectedSessionState: .init(nextExpectedSeq: 0, nextSentSeq: 0))
                    ).value,
                    tracing: .empty))
            var iterator = connection.events.makeAsyncIterator()
            guard case .message(let first)? = await iterator.next() else {
                Issue.record("no handshake response")
                return
            }
            #expect(try ControlPayload.parse(try codec.codec.decode(first).payload) == .handshakeResponse(.ok(sessionId: sessionID)))
            try client.send(
                TransportMessage(
                    id: RiverID.generate(), from: "ws-client", to: "SERVER", seq: 0, ack: 0, streamId: "s1",
                    controlFlags: [.streamOpen, .streamClosed], payload: ["n": 3], serviceName: "test", procedureName: "add",
                    tracing: .empty))
            guard case .message(let second)? = await iterator.next() else {
                Issue.record("no rpc response")
                return
            }
            let response = try codec.codec.decode(second)
            #expect(response.streamId == "s1" && response.controlFlags == .streamClosed && response.payload == ok(["result": 3]))
            #expect(server.sessionCount == 1)
            connection.close(code: 1000, reason: "")
        }
    }
}

/// Sends encoded messages on a WebSocket connection.
struct WebSocketTestClient {
    let connection: any RiverConnection
    let codec: any RiverCodec

    func send(_ message: TransportMessage) throws {
        connection.send(try codec.encode(message))
    }
}

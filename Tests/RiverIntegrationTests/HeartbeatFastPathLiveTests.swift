import River
import RiverReferenceClient
import RiverTestServer
import RiverWebSocket
import Testing

/// The heartbeat fast path on a live msgpack connection: the server's heartbeats are answered
/// without the general decode, the session keeps its seq and ack in step with the server (it
/// would reconnect on an out-of-order echo, or the server on a wrong ack), and rpcs still work.
@Suite("Heartbeat fast path, live", .timeLimit(.minutes(1)))
struct HeartbeatFastPathLiveTests {
    @Test("msgpack heartbeats are answered without decoding them, and the session stays in step")
    func heartbeatsTakeTheFastPath() async throws {
        let codec = MessagePackCodec()
        let timings = RiverTestServer.Timings(
            heartbeatInterval: .milliseconds(20), heartbeatsUntilDead: 500,
            sessionDisconnectGrace: .seconds(60), handshakeTimeout: .seconds(30))
        let serverConfiguration = RiverTestServer.Configuration(codec: codec, timings: timings)
        try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { _, port in
            var configuration = RiverClient.Configuration(serverID: serverConfiguration.serverID, codec: codec, randomSeed: 16)
            configuration.makePatient()
            try await withRiverClient(url: "ws://127.0.0.1:\(port)", configuration: configuration) { client in
                let events = client.events()
                _ = try await client.rpc(Reference.add, NumberInit(n: 1)).get()
                let session = try #require(client.transport.sessionID)
                try await waitUntil("50 heartbeats were answered without decoding", within: .seconds(30)) {
                    client.transport.heartbeatsWithoutDecoding >= 50
                }
                // Echo seqs interleave with the calls' messages: both still go through.
                _ = try await client.rpc(Reference.add, NumberInit(n: 2)).get()
                #expect(client.transport.sessionID == session)
                client.close()
                // No reconnect happened on the way (a wrong seq or ack would have caused one).
                var connects = 0
                for await event in events {
                    if case .connectionStatus(.connected) = event { connects += 1 }
                }
                #expect(connects == 1)
            }
        }
    }
}

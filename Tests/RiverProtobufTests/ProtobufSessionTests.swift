import River
import RiverProtobuf
import RiverProtobufTestService
import RiverTestServer
import RiverTesting
import RiverWebSocket
import SwiftProtobuf
import Synchronization
import Testing

/// The session layer over ProtoCodec, unchanged: heartbeats both ways, rehandshake with
/// protobuf metadata, and a server restart failing in-flight calls.
@Suite(.timeLimit(.minutes(2))) struct ProtobufSessionTests {
    @Test func heartbeatsFlowBothWaysOverProtoCodec() async throws {
        let log = FrameLog()
        let server = RiverTestServer(
            configuration: .init(
                codec: ProtoCodec(), mode: .protobuf,
                timings: .init(
                    heartbeatInterval: .milliseconds(50), heartbeatsUntilDead: 30, sessionDisconnectGrace: .seconds(60),
                    handshakeTimeout: .seconds(30))))
        let (accepted, acceptedContinuation) = AsyncStream.makeStream(of: (any RiverConnection).self)
        let connector = LoggingConnector(
            base: InMemoryConnector { acceptedContinuation.yield(RecordingConnection($0, log: log, isClient: false)) }, log: log)
        let configuration = RiverClient.Configuration(serverID: server.serverID, codec: ProtoCodec(), randomSeed: 9).patient()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await server.serve(connections: accepted) }
            defer {
                acceptedContinuation.finish()
                group.cancelAll()
            }
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                let test = River_Test_TestService.Client(client)
                _ = try await test.echo(.with { $0.text = "hi" })
                func heartbeats(fromClient: Bool) -> Int {
                    log.all.filter {
                        $0.fromClient == fromClient && (try? ProtoCodec().decode($0.bytes))?.streamId == TransportMessage.heartbeatStreamID
                    }.count
                }
                try await eventually("three heartbeats each way") { heartbeats(fromClient: false) >= 3 && heartbeats(fromClient: true) >= 3 }
                let clientMessages = log.all.filter(\.fromClient).compactMap { try? ProtoCodec().decode($0.bytes) }
                let message = try #require(clientMessages.last { $0.streamId == TransportMessage.heartbeatStreamID })
                #expect(message.controlFlags == .ack)
                #expect(message.payload == ControlPayload.ack.value)
                let after = try await test.echo(.with { $0.text = "still" })
                #expect(after.text == "STILL")
            }
        }
    }

    @Test func rehandshakeSendsFreshProtobufMetadata() async throws {
        let builds = Atomic<Int>(0)
        try await withProtobufClient(mode: .protobufHandshake) { configuration in
            configuration.handshakeMetadata = ProtobufHandshake.metadata {
                builds.add(1, ordering: .relaxed)
                return River_Test_AuthHandshake.with { $0.token = "let-me-in" }
            }
        } body: { test, _, server in
            _ = try await test.echo(.with { $0.text = "first" })
            #expect(server.requestRehandshake() == 1)
            try await eventually("the client to answer the rehandshake") { builds.load(ordering: .relaxed) >= 2 }
            let reply = try await test.echo(.with { $0.text = "after" })
            #expect(reply.text == "let-me-in:after")
            #expect(server.sessionCount == 1)
        }
    }

    @Test func aServerRestartFailsCallsInFlightAndANewSessionWorks() async throws {
        try await withProtobufClient { test, _, server in
            let error = await protobufError {
                try await test.chat { writer, responses in
                    var iterator = responses.makeAsyncIterator()
                    try await writer.write(.with { $0.text = "hi" })
                    _ = try await iterator.next()
                    server.restart()
                    _ = try await iterator.next()
                }
            }
            #expect(error?.code == .unexpectedDisconnect)
            let reply = try await test.echo(.with { $0.text = "new" })
            #expect(reply.text == "NEW")
        }
    }
}

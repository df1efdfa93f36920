import River
import RiverTesting
import RiverTestServer
import Testing

@Suite("Client options", .timeLimit(.minutes(1)))
struct ClientOptionsTests {
    @Test func oneClientTalksToSeveralServers() async throws {
        let main = RiverTestServer(configuration: .init(codec: JSONCodec(), timings: .patient))
        let other = RiverTestServer(configuration: .init(codec: JSONCodec(), serverID: "OTHER", timings: .patient))
        try await main.withInMemoryConnector { mainConnector in
            try await other.withInMemoryConnector { otherConnector in
                var configuration = RiverClient.Configuration(
                    codec: JSONCodec(), additionalServers: ["OTHER": otherConnector])
                configuration.makePatient()
                try await withRiverClient(connector: mainConnector, configuration: configuration) { client in
                    let onMain = try await client.rpc(Reference.add, NumberInit(n: 2)).get()
                    let onOther = try await client.rpc(Reference.add, NumberInit(n: 5), options: CallOptions(server: "OTHER")).get()
                    let mainAgain = try await client.rpc(Reference.add, NumberInit(n: 1)).get()
                    #expect(onMain.result == 2)
                    #expect(onOther.result == 5, "each server keeps its own running total")
                    #expect(mainAgain.result == 3)
                    let unknown = await #expect(throws: RiverError.self) {
                        _ = try await client.rpc(Reference.add, NumberInit(n: 1), options: CallOptions(server: "NOPE"))
                    }
                    #expect(unknown?.code == .unknownServer)
                }
            }
        }
    }

    @Test func connectEagerlyConnectsBeforeTheFirstCall() async throws {
        let server = RiverTestServer(configuration: .init(codec: MessagePackCodec(), timings: .patient))
        try await server.withInMemoryConnector { connector in
            var configuration = RiverClient.Configuration(codec: MessagePackCodec())
            configuration.makePatient()
            configuration.connectEagerly = true
            let client = RiverClient(connector: connector, configuration: configuration)
            let events = client.events()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                _ = try await waitForEvent(events) { if case .connectionStatus(.connected) = $0 { true } else { false } }
                #expect(server.sessionCount == 1)
                client.close()
                try await group.waitForAll()
            }
        }
    }

    @Test func openMessagesCarryTheCallersTraceContext() async throws {
        let (serverEnds, accepted) = AsyncStream.makeStream(of: InMemoryConnection.self)
        let connector = InMemoryConnector { accepted.yield($0) }
        let codec = JSONCodec()
        let trace = TracingContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "k=v")
        var configuration = RiverClient.Configuration(codec: codec)
        configuration.makePatient()
        try await withRiverClient(connector: connector, configuration: configuration) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    _ = try? await client.rpc(Reference.add, NumberInit(n: 1), options: CallOptions(tracing: trace))
                }
                var ends = serverEnds.makeAsyncIterator()
                let server = try #require(await ends.next())
                var frames = server.events.makeAsyncIterator()
                guard case .message(let hello)? = await frames.next() else {
                    Issue.record("no handshake")
                    return
                }
                let handshake = try codec.decode(hello)
                #expect(handshake.tracing == .empty)
                guard case .handshakeRequest(let request)? = try ControlPayload.parse(handshake.payload) else {
                    Issue.record("not a handshake")
                    return
                }
                let reply = TransportMessage(
                    id: RiverID.generate(), from: "SERVER", to: handshake.from, seq: 0, ack: 0, streamId: RiverID.generate(),
                    controlFlags: [], payload: ControlPayload.handshakeResponse(.ok(sessionId: request.sessionId)).value)
                server.send(try codec.encode(reply))
                guard case .message(let openBytes)? = await frames.next() else {
                    Issue.record("no open message")
                    return
                }
                let open = try codec.decode(openBytes)
                #expect(open.tracing == trace)
                #expect(open.controlFlags == [.streamOpen, .streamClosed])
                #expect(open.serviceName == "test" && open.procedureName == "add")
                client.close()
                try await group.waitForAll()
            }
        }
    }
}

import River
import RiverTesting
import RiverTestServer
import Testing

/// The client's life: it runs once; cancelling its task closes it; a graceful shutdown can
/// have a drain deadline.
@Suite("Client lifecycle", .timeLimit(.minutes(1)))
struct ClientLifecycleTests {
    @Test("a second run() throws CLIENT_ALREADY_RUNNING; run() after the end throws CLIENT_STOPPED")
    func runsOnce() async throws {
        let server = RiverTestServer(configuration: .init(codec: JSONCodec()))
        try await server.withInMemoryConnector { connector in
            let client = RiverClient(connector: connector, configuration: .init(codec: JSONCodec()))
            #expect(client.lifecycleState == .notStarted)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                _ = try await client.rpc(Reference.add, NumberInit(n: 1))
                #expect(client.lifecycleState == .running)
                let second = await #expect(throws: RiverError.self) { try await client.run() }
                #expect(second?.code == .clientAlreadyRunning)
                client.close()
                try await group.waitForAll()
            }
            #expect(client.lifecycleState == .stopped)
            let after = await #expect(throws: RiverError.self) { try await client.run() }
            #expect(after?.code == .clientStopped)
        }
    }

    @Test("withRiverClient returns the body's value when the body ends before run() began")
    func withRiverClientWhoseBodyEndsAtOnce() async throws {
        let server = RiverTestServer(configuration: .init(codec: JSONCodec()))
        try await server.withInMemoryConnector { connector in
            // The body returns without suspending, so the client is closed before the task
            // running run() starts, almost always: repeat to make sure.
            for attempt in 0..<20 {
                let value = try await withRiverClient(connector: connector, configuration: .init(codec: JSONCodec())) { _ in attempt }
                #expect(value == attempt)
            }
        }
    }

    @Test("cancelling the task running run() closes the client: calls end with clientClosed, connections close")
    func cancellingRunClosesTheClient() async throws {
        let server = RiverTestServer(configuration: .init(codec: JSONCodec()))
        try await server.withInMemoryConnector { connector in
            let client = RiverClient(connector: connector, configuration: .init(codec: JSONCodec()))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                _ = try await client.rpc(Reference.add, NumberInit(n: 1))
                async let blocked: RiverError? = {
                    do {
                        _ = try await client.rpc(Reference.blockingRpc, Empty())
                        return nil
                    } catch { return error as? RiverError }
                }()
                try await waitUntil("the blocking call to reach the server") { server.openStreamCount == 1 }
                group.cancelAll()  // cancels the task running run(), as a failing service group does
                let error = await blocked
                #expect(error?.code == .unexpectedDisconnect)
                #expect(error?.cause?.kind == .clientClosed)
                #expect(error?.message == "the client is closed")
                try? await group.waitForAll()
            }
            #expect(client.transport.isClosed)
            #expect(client.lifecycleState == .stopped)
            try await waitUntil("the server to see the connection close") { server.connectionCount == 0 }
            let later = await #expect(throws: RiverError.self) { _ = try await client.rpc(Reference.add, NumberInit(n: 1)) }
            #expect(later?.cause?.kind == .clientClosed)
        }
    }

    @Test("a graceful shutdown's drain deadline cancels the calls still in flight")
    func drainDeadline() async throws {
        let server = RiverTestServer(configuration: .init(codec: JSONCodec()))
        try await server.withInMemoryConnector { connector in
            let client = RiverClient(connector: connector, configuration: .init(codec: JSONCodec()))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.run() }
                async let blocked: RiverError? = {
                    do {
                        _ = try await client.rpc(Reference.blockingRpc, Empty(), options: CallOptions(timeout: .seconds(50)))
                        return nil
                    } catch { return error as? RiverError }
                }()
                try await waitUntil("the blocking call to reach the server") { server.openStreamCount == 1 }
                client.beginGracefulShutdown(drainTimeout: .milliseconds(100))
                #expect(client.lifecycleState == .stopping)
                let error = await blocked
                #expect(error?.cause?.kind == .clientClosed)
                #expect(error?.message == "the client is closed")
                #expect(error?.cause?.detail.contains("drain deadline") == true)
                try await group.waitForAll()
            }
            #expect(client.lifecycleState == .stopped)
        }
    }
}

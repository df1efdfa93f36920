import Logging
import River
import RiverTestServer
import RiverWebSocket
import ServiceLifecycle
import Testing

// The getting-started article's examples (Sources/River/River.docc/GettingStarted.md) and the
// README's, compiled and run against the test server. Keep them in step.

private struct AddInit: Codable, Sendable { var n: Double }
private struct AddOutput: Codable, Sendable { var result: Double }
private let add = RPCProcedure<AddInit, AddOutput, RiverServiceError>(service: "test", procedure: "add")
private let addMultiple = Reference.addMultiple
private let value = Reference.value
private let echo = Reference.echo
private let divide = Reference.divide

@Suite("Documentation examples", .timeLimit(.minutes(1)))
struct DocumentationExamplesTests {
    @Test func gettingStartedExamplesRun() async throws {
        // The README's code, with patient timings on both sides (`.patient()`, not in the
        // README): a parallel `swift test` on a loaded machine delays both by seconds.
        try await RiverTestServer.withRunningServer(configuration: .init(codec: JSONCodec(), timings: .patient)) { server, port in
            try await withRiverClient(
                url: "ws://127.0.0.1:\(port)",
                configuration: .init(serverID: "SERVER", codec: JSONCodec()).patient()
            ) { client in
                let sum = try await client.rpc(add, AddInit(n: 3)).get()
                #expect(sum.result == 3)

                let total = try await client.upload(addMultiple, Empty()) { writer in
                    for n in 1...3 { try await writer.write(NumberInit(n: Double(n))) }
                }
                #expect(try total.get().result == 6)

                var counts: [Double] = []
                try await client.subscribe(value, Empty()) { updates in
                    for try await update in updates {
                        counts.append(try update.get().count)
                        break
                    }
                }
                #expect(counts == [0])

                let echoed = try await client.stream(echo, Empty()) { writer, responses in
                    try await writer.write(EchoInput(msg: "hello"))
                    try await writer.finish()
                    var all: [String] = []
                    for try await response in responses { all.append(try response.get().response) }
                    return all
                }
                #expect(echoed == ["hello"])

                var serviceError: String?
                do {
                    switch try await client.rpc(divide, DivideInit(a: 1, b: 0)) {
                    case .success(let quotient): Issue.record("unexpected \(quotient)")
                    case .failure(let error): serviceError = error.code
                    }
                } catch let error as RiverError where error.code == .unexpectedDisconnect {
                    Issue.record("the session was lost")
                }
                #expect(serviceError == "DIV_BY_ZERO")

                let result = try await client.rpc(add, AddInit(n: 1), options: CallOptions(timeout: .seconds(30)))
                #expect(try result.get().result == 4)
                _ = server
            }
        }
    }

    @Test func subscriptionGroupExampleRuns() async throws {
        // The README's "Many subscriptions without a task each", against the test server.
        try await RiverTestServer.withRunningServer(configuration: .init(codec: JSONCodec(), timings: .patient)) { server, port in
            try await withRiverClient(
                url: "ws://127.0.0.1:\(port)",
                configuration: .init(serverID: "SERVER", codec: JSONCodec()).patient()
            ) { client in
                let (latest, members) = try await client.withSubscriptionGroup(keyedBy: Int.self, for: value) { group in
                    for room in 1...3 { try await group.add(room, value, Empty()) }
                    var latest: [Int: Double] = [:]
                    for await event in group.events {
                        switch event {
                        case .result(let room, .success(let update)): latest[room] = update.count
                        case .result(let room, .failure(let error)): Issue.record("room \(room): \(error)")
                        case .finished(let room): Issue.record("room \(room) closed by the server")
                        case .failed(let room, let error): Issue.record("room \(room) failed: \(error)")
                        }
                        if latest.count == 3 { break }
                    }
                    group.cancel(1)
                    try await waitUntil("the server to see room 1 cancelled") { server.openStreamCount == 2 }
                    return (latest, group.count)
                }
                #expect(latest == [1: 0, 2: 0, 3: 0])
                #expect(members == 2)
                try await waitUntil("the server to see every member cancelled") { server.openStreamCount == 0 }
            }
        }
    }

    @Test func clientRunsAsAServiceAndShutsDownGracefully() async throws {
        try await RiverTestServer.withRunningServer(configuration: .init(codec: MessagePackCodec(), timings: .patient)) { server, port in
            let client = try RiverClient(url: "ws://127.0.0.1:\(port)", configuration: .init(codec: MessagePackCodec()).patient())
            let group = ServiceGroup(services: [client], logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let echoed = try await client.stream(echo, Empty()) { writer, responses in
                    var iterator = responses.makeAsyncIterator()
                    try await writer.write(EchoInput(msg: "before"))
                    let first = try await iterator.next()?.get().response
                    // Shutdown begins with this call in flight: new calls are refused at once,
                    // this one carries on to its end.
                    await group.triggerGracefulShutdown()
                    try await waitUntil("the shutdown to reach the client") { client.transport.isDraining }
                    let refused = await #expect(throws: RiverError.self) { _ = try await client.rpc(add, AddInit(n: 1)) }
                    #expect(refused?.cause?.kind == .clientShuttingDown)
                    try await writer.write(EchoInput(msg: "after"))
                    try await writer.finish()
                    var all = [first]
                    while let next = try await iterator.next() { all.append(try next.get().response) }
                    return all
                }
                #expect(echoed == ["before", "after"])
                // With the last call done the client closes, and the group's run returns.
                try await tasks.waitForAll()
            }
            _ = server
        }
    }
}

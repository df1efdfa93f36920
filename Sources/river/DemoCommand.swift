import ArgumentParser
import Logging
import River
import RiverTestServer
import RiverWebSocket

/// `river demo`: a guided tour of River against an in-process test server.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a test server in-process and walk through River's procedure kinds, errors, cancellation and reconnects.")

    private typealias Value = RiverValue
    private typealias Failure = RiverServiceError

    func run() async throws {
        let quiet = Logger(label: "river.demo", factory: { _ in SwiftLogNoOpLogHandler() })
        let outcome: Result<Void, any Error> = await Self.withDeadline(.seconds(30)) {
            try await RiverTestServer.withRunningServer(configuration: .init(codec: JSONCodec()), logger: quiet) { server, port in
                let url = "ws://127.0.0.1:\(port)"
                Console.output("River demo: a test server is listening on \(url) (json codec)")
                let connector = try WebSocketConnector(url: url)
                try await withRiverClient(connector: connector, configuration: .init(codec: JSONCodec()), logger: quiet) { client in
                    try await Self.tour(client: client, server: server)
                }
            }
        }
        switch outcome {
        case .success:
            Console.output("\nDone: every step behaved as River specifies.")
        case .failure(let error):
            throw CLIError(.internalError, "demo failed: \(error)").report()
        }
    }

    private static func tour(client: RiverClient, server: RiverTestServer) async throws {
        step("1. rpc: one init in, one result out", "river call URL test.add '{\"n\":3}'")
        let sum = try await client.rpc(RPCProcedure<Value, Value, Failure>(service: "test", procedure: "add"), ["n": 3])
        show("test.add {\"n\":3}", sum)

        step("2. stream: requests and results flow both ways", "river stream URL test.echo '{}' < lines")
        let echo = StreamProcedure<Value, Value, Value, Failure>(service: "test", procedure: "echo")
        try await client.stream(echo, [:]) { writer, results in
            for message in ["hello", "river"] {
                try await writer.write(["msg": .string(message)])
                Console.output("  sent {\"msg\":\"\(message)\"}")
            }
            try await writer.finish()
            for try await result in results { show("result", result) }
        }

        step("3. upload: many requests in, one result out", "printf '{\"n\":1}\\n{\"n\":2}\\n' | river upload URL uploadable.addMultiple")
        let addMultiple = UploadProcedure<Value, Value, Value, Failure>(service: "uploadable", procedure: "addMultiple")
        let total = try await client.upload(addMultiple, [:]) { writer in
            for n in [1, 2, 3, 4] as [Int64] { try await writer.write(["n": .int(n)]) }
            Console.output("  sent {\"n\":1} {\"n\":2} {\"n\":3} {\"n\":4} (acknowledged so far: \(writer.progress.acknowledged))")
        }
        show("uploadable.addMultiple", total)

        step("4. subscription: results pushed by the server", "river subscribe URL subscribable.value")
        let value = SubscriptionProcedure<Value, Value, Failure>(service: "subscribable", procedure: "value")
        let add = RPCProcedure<Value, Value, Failure>(service: "subscribable", procedure: "add")
        try await client.subscribe(value, [:]) { results in
            var iterator = results.makeAsyncIterator()
            if let first = try await iterator.next() { show("current value", first) }
            let added = try await client.rpc(add, ["n": 5])
            show("subscribable.add {\"n\":5}", added)
            if let update = try await iterator.next() { show("pushed update", update) }
            Console.output("  (leaving the scope cancels the subscription)")
        }

        step("5. service error: a declared error is a result, not a failure", "river call URL fallible.divide '{\"a\":1,\"b\":0}'  # exit status 1")
        let divide = RPCProcedure<Value, Value, Failure>(service: "fallible", procedure: "divide")
        show("fallible.divide {\"a\":1,\"b\":0}", try await client.rpc(divide, ["a": 1, "b": 0]))

        step("6. cancellation: a deadline cancels the call on both sides", "river call --timeout 0.3 URL cancel.blockingRpc")
        let blocking = RPCProcedure<Value, Value, Failure>(service: "cancel", procedure: "blockingRpc")
        do {
            _ = try await client.rpc(blocking, [:], options: .init(timeout: .milliseconds(300)))
            throw CLIError(.internalError, "cancel.blockingRpc returned")
        } catch let error as RiverError where error.code == .deadlineExceeded {
            Console.output("  cancel.blockingRpc → \(error.code): \(error.message)")
        }
        try await waitUntil("the server to drop the cancelled stream") { server.openStreamCount == 0 }
        Console.output("  the CANCEL reached the server: it has \(server.openStreamCount) open streams")

        step("7. transparent reconnect: the connection drops, the session survives", "(fault injection: server.dropAllConnections())")
        try await client.stream(echo, [:]) { writer, results in
            var iterator = results.makeAsyncIterator()
            try await writer.write(["msg": "before the drop"])
            if let reply = try await iterator.next() { show("result", reply) }
            let events = client.events()
            Console.output("  server: dropped \(server.dropAllConnections()) connection(s) mid-stream")
            try await withDeadline(.seconds(10)) {
                for await event in events {
                    Console.output("  event: \(event)")
                    if case .sessionStatus(.resumed) = event { return }
                    if case .sessionStatus(.destroyed) = event { throw CLIError(.internalError, "the session was lost") }
                }
            }.get()
            try await writer.write(["msg": "after the drop"])
            if let reply = try await iterator.next() { show("result", reply) }
            try await writer.finish()
            while let rest = try await iterator.next() { show("result", rest) }
            Console.output("  the same stream carried on over the new connection")
        }
    }

    private static func step(_ title: String, _ command: String) {
        Console.output("\n\(title)\n  $ \(command)")
    }

    private static func show(_ what: String, _ result: Result<Value, Failure>) {
        switch result {
        case .success(let value): Console.output("  \(what) → \(JSONText.render(value))")
        case .failure(let error): Console.output("  \(what) → service error \(error.code): \(error.message)")
        }
    }

    private static func waitUntil(_ what: String, _ condition: @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CLIError(.internalError, "timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Runs `body`, cancelling it after `limit`.
    private static func withDeadline(
        _ limit: Duration, _ body: @escaping @Sendable () async throws -> Void
    ) async -> Result<Void, any Error> {
        await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask {
                do { try await body(); return .success(()) } catch { return .failure(error) }
            }
            group.addTask {
                guard (try? await Task.sleep(for: limit)) != nil else { return nil }
                return .failure(CLIError(.internalError, "timed out after \(limit)"))
            }
            while let next = await group.next() {
                guard let result = next else { continue }
                group.cancelAll()
                return result
            }
            return .failure(CancellationError())
        }
    }
}

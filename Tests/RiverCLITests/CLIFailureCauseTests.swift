import Foundation
import River
import RiverTestServer
import Testing

/// Every failure line names its cause (the handshake and INVALID_REQUEST cases are in
/// ``CLIErrorTests``); `serve-test` takes the fault commands of `river-test-server`.
@Suite("CLIFailureCauseTests", .timeLimit(.minutes(3)))
struct CLIFailureCauseTests {
    @Test("a call ended by a lost session names why the session was lost")
    func lostSessionCause() async throws {
        try await withServer { server, url in
            let river = try RiverCLIProcess(["subscribe", url, "subscribable.value"], input: nil)
            try await river.waitForStdoutLines(1, timeout: .seconds(60))
            // The restarted server no longer knows the session: the resumed handshake is
            // refused and the session destroyed.
            server.restart()
            let result = try await river.finish(timeout: .seconds(60))
            #expect(result.status == 6, "\(result)")
            #expect(result.stderr.contains("UNEXPECTED_DISCONNECT"), "\(result)")
            // The typed cause: the server restarted (it refused the session with its wire code).
            #expect(result.stderr.contains("serverRestarted"), "\(result)")
            #expect(result.stderr.contains("SESSION_STATE_MISMATCH"), "\(result)")
            #expect(!result.stderr.contains("(cause:"), "the cause is named once: \(result)")
        }
    }

    @Test("a call that never connected says so and names what the last attempt ran into (exit 4)")
    func neverConnected() async throws {
        try await withServer { server, url in
            // Connections open but the handshake is never answered.
            server.setBlackholed(true)
            // 5 s: long enough for the socket to open on a loaded machine, so that the
            // handshake is what times out (the grace period, twice it, ends the session).
            let result = try await runRiver(["call", "--connect-timeout", "5", url, "test.add", #"{"n":1}"#])
            #expect(result.status == 4, "\(result)")
            #expect(
                result.stderr.contains("cannot connect to \(url): handshakeTimeout") && result.stderr.contains("(gave up: graceExpired"),
                "\(result)")
        }
    }

    @Test("serve-test takes river-test-server's fault commands on stdin and answers each on stderr")
    func serveTestFaultCommands() async throws {
        let server = try RiverCLIProcess(["serve-test"], input: nil)
        try await server.waitForStdoutLines(1, timeout: .seconds(60))
        let line = server.currentStdout.split(separator: "\n").first.map(String.init) ?? ""
        let port = try #require(line.hasPrefix("RIVER_PORT=") ? Int(line.dropFirst("RIVER_PORT=".count)) : nil, "\(line)")
        let url = "ws://127.0.0.1:\(port)"

        let subscriber = try RiverCLIProcess(["subscribe", url, "subscribable.value"], input: nil)
        try await subscriber.waitForStdoutLines(1, timeout: .seconds(60))
        server.write("status\n")
        try await server.waitForStderr(containing: "ok connections=1 sessions=1 streams=1")
        server.write("bogus\n")
        try await server.waitForStderr(containing: "error: unknown command 'bogus' (\(RiverTestServer.faultCommandSummary))")
        server.write("restart\n")
        try await server.waitForStderr(containing: "ok restarted")
        let ended = try await subscriber.finish(timeout: .seconds(60))
        #expect(ended.status == 6, "\(ended)")
        #expect(ended.stderr.contains("serverRestarted"), "\(ended)")

        // The end of stdin leaves the server serving.
        server.closeInput()
        let call = try await runRiver(["call", url, "test.add", #"{"n":4}"#])
        #expect(call.status == 0, "\(call)")
        server.terminate()
        let result = try await server.finish()
        #expect(result.status == 0, "\(result)")
    }
}

/// With `--schema`, what the server sends back is checked too.
@Suite("CLISchemaResultTests", .timeLimit(.minutes(3)))
struct CLISchemaResultTests {
    /// Where ``wrongSchemaFile`` is written (one file per test process).
    static func wrongSchemaPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("river-wrong-schema-\(getpid()).json").path
    }

    /// The reference schema with wrong output and error schemas for a few procedures, in a
    /// temporary file (removed when the test process exits).
    static let wrongSchemaFile: String = {
        func object(_ value: Any?) -> [String: Any] { value as? [String: Any] ?? [:] }
        let data = FileManager.default.contents(atPath: Fixtures.referenceSchema) ?? Data()
        var schema = object(try? JSONSerialization.jsonObject(with: data))
        var services = object(schema["services"])
        /// Replaces `service.procedure`'s `key` schema.
        func replace(_ service: String, _ procedure: String, _ key: String, with value: Any) {
            var serviceValue = object(services[service])
            var procedures = object(serviceValue["procedures"])
            var procedureValue = object(procedures[procedure])
            procedureValue[key] = value
            procedures[procedure] = procedureValue
            serviceValue["procedures"] = procedures
            services[service] = serviceValue
        }
        func outputSchema(_ field: String, _ type: String) -> [String: Any] {
            ["type": "object", "required": [field], "properties": [field: ["type": type]]]
        }
        func errorSchema(_ code: String) -> [String: Any] {
            ["type": "object", "required": ["code", "message"],
             "properties": ["code": ["type": "string", "const": code], "message": ["type": "string"]]]
        }
        // test.add's `result` must be a string, test.echo's `response` a number, and
        // fallible.divide may only fail with INFINITY or UNCAUGHT_ERROR.
        replace("test", "add", "output", with: outputSchema("result", "string"))
        replace("test", "echo", "output", with: outputSchema("response", "number"))
        replace("fallible", "divide", "errors", with: ["anyOf": [errorSchema("INFINITY"), errorSchema("UNCAUGHT_ERROR")]])
        schema["services"] = services
        let written = (try? JSONSerialization.data(withJSONObject: schema)) ?? Data()
        _ = FileManager.default.createFile(atPath: wrongSchemaPath(), contents: written)
        // Removed when the test process exits.
        atexit { unlink(CLISchemaResultTests.wrongSchemaPath()) }
        return wrongSchemaPath()
    }()

    @Test("an rpc result that does not match the output schema is an error naming its JSON path (exit 6)")
    func rpcOutputMismatch() async throws {
        try await withServer { _, url in
            let result = try await runRiver(["call", "--schema", Self.wrongSchemaFile, url, "test.add", #"{"n":3}"#])
            #expect(result.status == 6, "\(result)")
            #expect(
                result.stderr.contains("the server sent a result that does not match the output schema of test.add: /result: expected string, got number"),
                "\(result)")
            #expect(result.stdout.isEmpty, "\(result)")
        }
    }

    @Test("a stream result that does not match the output schema ends the call (exit 6)")
    func streamOutputMismatch() async throws {
        try await withServer { server, url in
            let result = try await runRiver(
                ["stream", "--schema", Self.wrongSchemaFile, url, "test.echo"], input: "{\"msg\":\"hi\"}\n")
            #expect(result.status == 6, "\(result)")
            #expect(
                result.stderr.contains("does not match the output schema of test.echo: /response: expected number, got string"),
                "\(result)")
            try await waitFor("the server to drop the cancelled stream", timeout: .seconds(30)) { server.openStreamCount == 0 }
        }
    }

    @Test("a service error that does not match the error schema names the code's path and the codes allowed (exit 6)")
    func serviceErrorMismatch() async throws {
        try await withServer { _, url in
            let result = try await runRiver(["call", "--schema", Self.wrongSchemaFile, url, "fallible.divide", #"{"a":1,"b":0}"#])
            #expect(result.status == 6, "\(result)")
            #expect(
                result.stderr.contains(
                    #"the server sent a service error DIV_BY_ZERO that does not match the error schema of fallible.divide: /code: expected "INFINITY" | "UNCAUGHT_ERROR", got "DIV_BY_ZERO""#),
                "\(result)")
        }
    }

    @Test("results and service errors that match the reference schema print as usual")
    func matchingResults() async throws {
        try await withServer { _, url in
            let error = try await runRiver(["call", "--schema", Fixtures.referenceSchema, url, "fallible.divide", #"{"a":1,"b":0}"#])
            #expect(error.status == 1, "\(error)")
            #expect(try error.stdoutValues().first?["code"] == "DIV_BY_ZERO")
            let echoed = try await runRiver(
                ["stream", "--schema", Fixtures.referenceSchema, url, "test.echo"], input: "{\"msg\":\"hi\"}\n")
            #expect(echoed.status == 0, "\(echoed)")
            #expect(try echoed.stdoutValues() == [["response": "hi"]])
        }
    }
}

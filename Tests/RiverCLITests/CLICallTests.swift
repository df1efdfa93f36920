import Foundation
import River
import RiverTestServer
import Testing

/// The four calling subcommands against a live test server.
@Suite("CLICallTests", .timeLimit(.minutes(2)))
struct CLICallTests {
    @Test("call prints the rpc result as one JSON line", arguments: ["json", "msgpack"])
    func callRPC(codec: String) async throws {
        try await withServer(codec: codec) { _, url in
            let result = try await runRiver(["call", "--codec", codec, url, "test.add", #"{"n":3}"#])
            #expect(result.status == 0, "\(result)")
            let values = try result.stdoutValues()
            #expect(values.count == 1)
            #expect(values.first?["result"]?.doubleValue == 3)
        }
    }

    @Test("bytes travel as {\"$t\": base64}")
    func callBytes() async throws {
        try await withServer { _, url in
            let result = try await runRiver(["call", url, "test.echoBinary", #"{"data":{"$t":"AQID"}}"#])
            #expect(result.status == 0, "\(result)")
            let value = try #require(try result.stdoutValues().first)
            #expect(value["data"] == .bytes([1, 2, 3]))
            #expect(result.stdout.contains(#"{"$t":"AQID"}"#))
        }
    }

    @Test("a service error prints {code, message} on stdout, a message on stderr, and exits 1")
    func serviceError() async throws {
        try await withServer { _, url in
            let result = try await runRiver(["call", url, "fallible.divide", #"{"a":1,"b":0}"#])
            #expect(result.status == 1, "\(result)")
            let value = try #require(try result.stdoutValues().first)
            #expect(value["code"] == "DIV_BY_ZERO")
            #expect(value["message"]?.stringValue != nil)
            #expect(result.stderr.contains("DIV_BY_ZERO"))
        }
    }

    @Test("subscribe prints results as they arrive; SIGINT cancels the stream on the server and exits 130")
    func subscribeInterrupted() async throws {
        try await withServer { server, url in
            let river = try RiverCLIProcess(["subscribe", url, "subscribable.value"], input: nil)
            try await river.waitForStdoutLines(1)
            #expect(server.openStreamCount == 1)
            river.interrupt()
            let result = try await river.finish()
            #expect(result.exitedNormally, "\(result)")
            #expect(result.status == 130, "\(result)")
            #expect(try result.stdoutValues().first?["count"] != nil)
            // The CANCEL reached the server: the session grace period (60 s on the test
            // server) could not have cleaned the stream up by then.
            try await waitFor("the server to close the subscription", timeout: .seconds(30)) { server.openStreamCount == 0 }
        }
    }

    @Test("subscribe keeps printing pushed updates")
    func subscribeUpdates() async throws {
        try await withServer { server, url in
            let river = try RiverCLIProcess(["subscribe", url, "subscribable.value"], input: nil)
            try await river.waitForStdoutLines(1)
            let add = try await runRiver(["call", url, "subscribable.add", #"{"n":7}"#])
            #expect(add.status == 0, "\(add)")
            try await river.waitForStdoutLines(2)
            river.terminate()
            let result = try await river.finish()
            #expect(result.status == 143, "\(result)")
            #expect(try result.stdoutValues().last?["count"]?.doubleValue == 7)
            try await waitFor("the server to close the subscription", timeout: .seconds(30)) { server.openStreamCount == 0 }
        }
    }

    @Test("subscribe ends with status 0 when the server closes the subscription")
    func subscribeServerClose() async throws {
        try await withServer { _, url in
            let result = try await runRiver(["subscribe", url, "cancel.immediateSubscription"])
            #expect(result.status == 0, "\(result)")
            #expect(try result.stdoutValues() == [["done": true]])
        }
    }

    @Test("--header adds upgrade headers; a malformed one exits 3")
    func headers() async throws {
        try await withServer { _, url in
            let ok = try await runRiver(["call", "--header", "X-River-Test: yes", url, "test.add", #"{"n":1}"#])
            #expect(ok.status == 0, "\(ok)")
            let bad = try await runRiver(["call", "--header", "no colon", url, "test.add", #"{"n":1}"#])
            #expect(bad.status == 3, "\(bad)")
            #expect(bad.stderr.contains("expected 'Name: value'"))
        }
    }

    @Test("upload sends the JSON lines of stdin and prints the one result")
    func upload() async throws {
        try await withServer { _, url in
            let result = try await runRiver(
                ["upload", url, "uploadable.addMultiple"], input: "{\"n\":1}\n\n{\"n\":2}\n{\"n\":3}\n")
            #expect(result.status == 0, "\(result)")
            #expect(try result.stdoutValues().first?["result"]?.doubleValue == 6)
        }
    }

    @Test("stream sends stdin lines and prints every response", arguments: ["json", "msgpack"])
    func stream(codec: String) async throws {
        try await withServer(codec: codec) { _, url in
            let result = try await runRiver(
                ["stream", "--codec", codec, url, "test.echo"],
                input: "{\"msg\":\"one\"}\n{\"msg\":\"skip\",\"ignore\":true}\n{\"msg\":\"two\"}\n")
            #expect(result.status == 0, "\(result)")
            #expect(try result.stdoutValues() == [["response": "one"], ["response": "two"]])
        }
    }

    @Test("stream prints responses while stdin is still open")
    func streamInteractive() async throws {
        try await withServer { _, url in
            let river = try RiverCLIProcess(["stream", url, "test.echoWithPrefix", #"{"prefix":">"}"#], input: nil)
            river.write("{\"msg\":\"first\"}\n")
            try await river.waitForStdoutLines(1)
            river.write("{\"msg\":\"second\"}\n")
            try await river.waitForStdoutLines(2)
            river.closeInput()
            let result = try await river.finish()
            #expect(result.status == 0, "\(result)")
            #expect(try result.stdoutValues() == [["response": "> first"], ["response": "> second"]])
        }
    }

    @Test("with --schema, valid input is sent as usual")
    func validatedCall() async throws {
        try await withServer { _, url in
            let result = try await runRiver(["call", "--schema", Fixtures.referenceSchema, url, "test.add", #"{"n":2}"#])
            #expect(result.status == 0, "\(result)")
        }
    }

    @Test("--verbose reports connection and session events on stderr")
    func verbose() async throws {
        try await withServer { _, url in
            let result = try await runRiver(["call", "--verbose", "--client-id", "cli-test", url, "test.add", #"{"n":1}"#])
            #expect(result.status == 0, "\(result)")
            // Each event reads as the library's RiverEvent.description, after the endpoint.
            #expect(result.stderr.contains("river: \(url): \(RiverEvent.connectionStatus(.connecting(attempt: 1)))"), "\(result.stderr)")
            #expect(result.stderr.contains("river: \(url): connected (session"), "\(result.stderr)")
        }
    }

    @Test("handshake metadata with a valid token is accepted")
    func handshakeAccepted() async throws {
        try await withServer(mode: .handshake) { _, url in
            let result = try await runRiver([
                "call", "--server-id", "HANDSHAKE_SERVER", "--metadata", #"{"token":"valid-token"}"#,
                url, "test.echo", #"{"msg":"hi"}"#,
            ])
            #expect(result.status == 0, "\(result)")
            #expect(try result.stdoutValues().first?["response"] == "hi")
        }
    }
}

/// The other subcommands.
@Suite("CLIToolTests", .timeLimit(.minutes(2)))
struct CLIToolTests {
    @Test("list shows services, procedures, kinds and types")
    func list() async throws {
        let result = try await runRiver(["list", "--schema", Fixtures.referenceSchema])
        #expect(result.status == 0, "\(result)")
        let text = result.stdout
        #expect(text.contains("  add  (rpc: river call)"))
        #expect(text.contains("    init:   {n: number}"))
        #expect(text.contains("  echo  (stream: river stream)"))
        #expect(text.contains("    input:  {ignore?: boolean, msg: string}"))
        #expect(text.contains("  value  (subscription: river subscribe)"))
        #expect(text.contains("    errors: DIV_BY_ZERO | INFINITY"))
        #expect(text.contains("{data: Uint8Array}"))
        #expect(text.contains("RecursivePayload = {children?: RecursivePayload[], value: string}"))
        #expect(text.contains("handshake metadata: {token: string}"))
    }

    @Test("list with a filter shows one procedure")
    func listFiltered() async throws {
        let result = try await runRiver(["list", "--schema", Fixtures.referenceSchema, "uploadable.addMultiple"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutLines == [
            "uploadable", "  addMultiple  (upload: river upload)", "    init:   {}", "    input:  {n: number}",
            "    output: {result: number}",
        ])
    }

    @Test("demo walks through the procedure kinds, errors, cancellation and a reconnect, and exits 0")
    func demo() async throws {
        let result = try await runRiver(["demo"], timeout: .seconds(60))
        #expect(result.status == 0, "\(result)")
        for marker in ["1. rpc", "2. stream", "3. upload", "4. subscription", "DIV_BY_ZERO", "DEADLINE_EXCEEDED",
            "dropped 1 connection", "resumed", "after the drop", "Done"] {
            #expect(result.stdout.contains(marker), "missing \(marker)")
        }
    }

    @Test("serve-test prints RIVER_PORT, serves calls, and stops on SIGTERM")
    func serveTest() async throws {
        let server = try RiverCLIProcess(["serve-test", "--codec", "msgpack"], input: nil)
        try await server.waitForStdoutLines(1)
        let line = server.currentStdout.split(separator: "\n").first.map(String.init) ?? ""
        let port = try #require(line.hasPrefix("RIVER_PORT=") ? Int(line.dropFirst("RIVER_PORT=".count)) : nil, "\(line)")
        let call = try await runRiver(["call", "--codec", "msgpack", "ws://127.0.0.1:\(port)", "test.add", #"{"n":4}"#])
        #expect(call.status == 0, "\(call)")
        server.terminate()
        let result = try await server.finish()
        #expect(result.status == 0, "\(result)")
    }
}

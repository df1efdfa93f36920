import Foundation
import River
import RiverTestProcess
import RiverTestServer
import Testing

/// Each error path: readable stderr, the documented exit status, nothing half-printed.
@Suite("CLIErrorTests", .timeLimit(.minutes(2)))
struct CLIErrorTests {
    @Test("a URL that is not ws:// or wss:// exits 3", arguments: ["http://127.0.0.1:1", "127.0.0.1:80", "ws://"])
    func badURL(url: String) async throws {
        let result = try await runRiver(["call", url, "test.add", #"{"n":1}"#])
        #expect(result.status == 3, "\(result)")
        #expect(result.stderr.contains("invalid URL"))
        #expect(result.stdout.isEmpty)
    }

    /// Fast means no retry: the refusal ends the session after the first attempt (not after a
    /// grace period of retries), so it is the cause the call reports.
    @Test("a refused connection fails fast with exit 4: one attempt, the refusal reported")
    func refused() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }  // refusing until the test ends
        let url = "ws://127.0.0.1:\(refusing.port)"
        let result = try await runRiver(["call", "--verbose", url, "test.add", #"{"n":1}"#])
        #expect(result.status == 4, "\(result)")
        #expect(result.stderr.contains("cannot connect to \(url)"))
        let attempts = result.stderr.split(separator: "\n").filter { $0.hasPrefix("river: \(url): connecting") }
        #expect(attempts == ["river: \(url): connecting (attempt 1)"], "\(result)")
        #expect(result.stderr.contains("river: \(url): disconnected: connectRefused"), "\(result)")
        #expect(!result.stderr.contains("graceExpired"), "\(result)")
    }

    @Test("malformed init JSON exits 3 before connecting")
    func badJSON() async throws {
        let result = try await runRiver(["call", "ws://127.0.0.1:1", "test.add", #"{"n":"#])
        #expect(result.status == 3, "\(result)")
        #expect(result.stderr.contains("init: invalid JSON"))
    }

    @Test("a malformed request line exits 3 and cancels the upload")
    func badRequestLine() async throws {
        try await withServer { server, url in
            let result = try await runRiver(["upload", url, "uploadable.addMultiple"], input: "{\"n\":1}\nnot json\n")
            #expect(result.status == 3, "\(result)")
            #expect(result.stderr.contains("request (stdin line 2): invalid JSON"))
            try await waitFor("the server to drop the cancelled upload", timeout: .seconds(30)) { server.openStreamCount == 0 }
        }
    }

    @Test(
        "with --schema, a mismatching init is refused with its path and expected type",
        arguments: [
            (#"{"n":"x"}"#, "init: /n: expected number, got string"),
            ("{}", "init: /n: missing required property (expected number)"),
            ("[1]", "init: expected object, got array"),
        ])
    func schemaMismatch(initJSON: String, message: String) async throws {
        let result = try await runRiver(["call", "--schema", Fixtures.referenceSchema, "ws://127.0.0.1:1", "test.add", initJSON])
        #expect(result.status == 3, "\(result)")
        #expect(result.stderr.contains(message), "\(result)")
    }

    @Test("with --schema, a mismatching request line is refused")
    func schemaRequestMismatch() async throws {
        try await withServer { _, url in
            let result = try await runRiver(
                ["stream", "--schema", Fixtures.referenceSchema, url, "test.echo"], input: "{\"msg\":\"ok\"}\n{\"msg\":5}\n")
            #expect(result.status == 3, "\(result)")
            #expect(result.stderr.contains("request (stdin line 2): /msg: expected string, got number"), "\(result)")
        }
    }

    @Test("with --schema, bytes must be {\"$t\": base64}")
    func schemaBytes() async throws {
        let result = try await runRiver(
            ["call", "--schema", Fixtures.referenceSchema, "ws://127.0.0.1:1", "test.echoBinary", #"{"data":"AQID"}"#])
        #expect(result.status == 3, "\(result)")
        #expect(result.stderr.contains(#"init: /data: expected bytes ({"$t": base64}), got string"#), "\(result)")
    }

    @Test("with --schema, calling a procedure with the wrong subcommand is refused")
    func wrongKind() async throws {
        let result = try await runRiver(["call", "--schema", Fixtures.referenceSchema, "ws://127.0.0.1:1", "test.echo"])
        #expect(result.status == 3, "\(result)")
        #expect(result.stderr.contains("test.echo is a stream procedure: use `river stream`"), "\(result)")
        let unknown = try await runRiver(["call", "--schema", Fixtures.referenceSchema, "ws://127.0.0.1:1", "test.nope"])
        #expect(unknown.status == 3)
        #expect(unknown.stderr.contains("unknown procedure test.nope"))
    }

    @Test("a rejected handshake exits 5, naming the server's wire code and reason")
    func handshakeRejected() async throws {
        try await withServer(mode: .handshake) { _, url in
            let result = try await runRiver([
                "call", "--server-id", "HANDSHAKE_SERVER", "--metadata", #"{"token":"bad"}"#,
                url, "test.echo", #"{"msg":"hi"}"#,
            ])
            #expect(result.status == 5, "\(result)")
            #expect(
                result.stderr.contains("rejected the handshake with REJECTED_BY_CUSTOM_HANDLER: rejected by handshake handler"),
                "\(result)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test("--timeout cancels a call that does not finish and exits 7")
    func deadline() async throws {
        try await withServer { server, url in
            let result = try await runRiver(["call", "--timeout", "0.3", url, "cancel.blockingRpc"])
            #expect(result.status == 7, "\(result)")
            #expect(result.stderr.contains("deadline exceeded"))
            try await waitFor("the server to drop the cancelled rpc", timeout: .seconds(30)) { server.openStreamCount == 0 }
        }
    }

    @Test("a protocol error from the server (INVALID_REQUEST) exits 6, named as the server's answer")
    func invalidRequest() async throws {
        try await withServer { _, url in
            let result = try await runRiver(["call", url, "test.add", #"{"n":"not a number"}"#])
            #expect(result.status == 6, "\(result)")
            #expect(result.stderr.contains("river: the server answered INVALID_REQUEST: "), "\(result)")
        }
    }

    @Test("usage errors exit 64")
    func usage() async throws {
        let result = try await runRiver(["call", "ws://127.0.0.1:1", "no-dot"])
        #expect(result.status == 64, "\(result)")
    }
}

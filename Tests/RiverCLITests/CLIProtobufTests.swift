import Foundation
import Logging
import River
import RiverProtobuf
import RiverTestServer
import Testing

/// `--protoset`: the calling subcommands and `river list` against protobuf services, typed by
/// a descriptor set, with the TypeBox calls' output and exit statuses.
@Suite("CLIProtobufTests", .timeLimit(.minutes(2)))
struct CLIProtobufTests {
    /// `protoc --include_imports --descriptor_set_out` of Protos/river/test/test_service.proto.
    static let protoset = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/protobuf/test_service.protoset").path

    func withProtobufServer(handshake: Bool = false, _ body: (RiverTestServer, String) async throws -> Void) async throws {
        try await RiverTestServer.withRunningServer(
            configuration: .init(codec: ProtoCodec(), mode: handshake ? .protobufHandshake : .protobuf),
            logger: Logger(label: "cli-test-server", factory: { _ in SwiftLogNoOpLogHandler() })
        ) { server, port in
            try await body(server, "ws://127.0.0.1:\(port)")
        }
    }

    @Test("call prints the response in protobuf's JSON mapping")
    func unary() async throws {
        try await withProtobufServer { _, url in
            let result = try await runRiver(["call", "--protoset", Self.protoset, url, "river.test.TestService/Echo", #"{"text":"hi"}"#])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdoutLines == [#"{"text":"HI"}"#])
        }
    }

    @Test("subscribe, upload and stream cover the other three method kinds")
    func streamingKinds() async throws {
        try await withProtobufServer { _, url in
            let count = try await runRiver(["subscribe", "--protoset", Self.protoset, url, "river.test.TestService/CountUp", #"{"limit":3}"#])
            #expect(count.status == 0, "\(count)")
            #expect(try count.stdoutValues().map { $0["value"] } == [1, 2, 3])

            let sum = try await runRiver(
                ["upload", "--protoset", Self.protoset, url, "river.test.TestService/Sum"], input: "{\"value\":4}\n{\"value\":5}\n")
            #expect(sum.status == 0, "\(sum)")
            #expect(sum.stdoutLines == [#"{"total":9}"#])

            let chat = try await runRiver(
                ["stream", "--protoset", Self.protoset, url, "river.test.TestService/Chat"], input: "{\"text\":\"a\"}\n{\"text\":\"b\"}\n")
            #expect(chat.status == 0, "\(chat)")
            #expect(chat.stdoutLines == [#"{"text":"A"}"#, #"{"text":"B"}"#])
        }
    }

    @Test("a handler error is a service error: JSON on stdout, a line on stderr, exit 1")
    func serviceError() async throws {
        try await withProtobufServer { _, url in
            let result = try await runRiver(
                ["call", "--protoset", Self.protoset, "--client-id", "cli-1", url, "river.test.TestService/Echo", #"{"text":"boom"}"#])
            #expect(result.status == 1, "\(result)")
            #expect(try result.stdoutValues() == [["code": "INVALID_ARGUMENT", "message": "bad input from cli-1"]])
            #expect(result.stderr.contains("INVALID_ARGUMENT"))
        }
    }

    @Test("a server cancel is a protocol error (exit 6)")
    func serverCancel() async throws {
        try await withProtobufServer { _, url in
            let result = try await runRiver(["call", "--protoset", Self.protoset, url, "river.test.TestService/Echo", #"{"text":"cancel"}"#])
            #expect(result.status == 6, "\(result)")
            #expect(result.stderr.contains("CANCEL: cancelled by handler"))
        }
    }

    @Test("bad input is refused before connecting (exit 3), naming the problem", arguments: [
        (["river.test.TestService/Echo", #"{"txt":"x"}"#], "has no field 'txt'"),
        (["river.test.TestService/Missing"], "has no method Missing"),
        (["river.test.Nope/Echo"], "has no service river.test.Nope"),
        (["river.test.TestService/CountUp"], "use river subscribe"),
    ])
    func badInput(_ arguments: [String], _ expected: String) async throws {
        let result = try await runRiver(["call", "--protoset", Self.protoset, "ws://127.0.0.1:9"] + arguments)
        #expect(result.status == 3, "\(result)")
        #expect(result.stderr.contains(expected), "\(result)")
    }

    @Test("handshake metadata is a protobuf message: accepted, rejected (exit 5), or missing its type (exit 3)")
    func handshakeMetadata() async throws {
        try await withProtobufServer(handshake: true) { _, url in
            func call(_ token: String, type: [String] = ["--metadata-type", "river.test.AuthHandshake"]) async throws -> CLIResult {
                try await runRiver(
                    ["call", "--protoset", Self.protoset, "--metadata", "{\"token\":\"\(token)\"}"] + type
                        + [url, "river.test.TestService/Echo", #"{"text":"hi"}"#])
            }
            let accepted = try await call("let-me-in")
            #expect(accepted.status == 0, "\(accepted)")
            #expect(accepted.stdoutLines == [#"{"text":"let-me-in:hi"}"#])
            let rejected = try await call("bad-token")
            #expect(rejected.status == 5, "\(rejected)")
            let untyped = try await call("let-me-in", type: [])
            #expect(untyped.status == 3, "\(untyped)")
            #expect(untyped.stderr.contains("--metadata-type"))
        }
    }

    @Test("list --protoset shows each method's kind, subcommand and messages")
    func list() async throws {
        let result = try await runRiver(["list", "--protoset", Self.protoset])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("river.test.TestService"))
        #expect(result.stdout.contains("CountUp  (server-streaming: river subscribe)"))
        #expect(result.stdout.contains("request:  stream river.test.SumChunk"))
        let filtered = try await runRiver(["list", "--protoset", Self.protoset, "river.test.TestService/Chat"])
        #expect(filtered.stdoutLines.count == 4, "\(filtered)")
        let missing = try await runRiver(["list", "--protoset", Self.protoset, "river.test.Nope"])
        #expect(missing.status == 3, "\(missing)")
    }
}

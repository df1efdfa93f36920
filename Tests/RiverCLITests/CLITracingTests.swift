import River
import RiverTestServer
import Testing

/// `--traceparent` / `--tracestate`: a shell user's W3C context goes out with the call.
@Suite("CLITracingTests", .timeLimit(.minutes(2)))
struct CLITracingTests {
    static let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    @Test("--traceparent and --tracestate travel in the stream-open message", arguments: ["json", "msgpack"])
    func traceparentReachesTheServer(codec: String) async throws {
        try await withServer(codec: codec) { server, url in
            let result = try await runRiver([
                "call", "--codec", codec, "--traceparent", Self.traceparent, "--tracestate", "vendor=1", url, "test.add", #"{"n":1}"#,
            ])
            #expect(result.status == 0, "\(result)")
            #expect(server.lastTraceContext == TracingContext(traceparent: Self.traceparent, tracestate: "vendor=1"))
        }
    }

    @Test("a malformed --traceparent is a usage error", arguments: [
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",  // no flags
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  // upper case
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  // zero trace id
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  // forbidden version
    ])
    func malformedTraceparent(value: String) async throws {
        let result = try await runRiver(["call", "--traceparent", value, "ws://127.0.0.1:1", "test.add"])
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains("--traceparent"))
    }
}

import InMemoryTracing
import Logging
import River
import RiverTestServer
import RiverWebSocket
import Testing
import Tracing

/// The README's observability example, run against a live test server over WebSocket, with a
/// tracer bound by `withTracer` (which counts as installed for a client created inside it).
@Suite("README observability example", .timeLimit(.minutes(1)))
struct ReadmeExampleTests {
    struct AddInit: Codable, Sendable { var n: Double }
    struct AddOutput: Codable, Sendable { var result: Double }
    let add = RPCProcedure<AddInit, AddOutput, RiverServiceError>(service: "test", procedure: "add")

    @Test func theReadmeExampleTracesACallUnderTheCallersSpan() async throws {
        let tracer = W3CTestTracer()
        let logger = RiverClient.silentLogger
        try await RiverTestServer.withRunningServer(configuration: .init(codec: JSONCodec(), timings: .patient)) { server, port in
            try await withTracer(tracer) {
                let configuration = RiverClient.Configuration(
                    codec: JSONCodec(),
                    interceptors: [
                        DeadlineInterceptor(default: .seconds(10)),
                        RetryInterceptor(retrying: [add.descriptor]),
                    ]).patient()
                try await withRiverClient(url: "ws://127.0.0.1:\(port)", configuration: configuration, logger: logger) { client in
                    try await withSpan("nightly-sum") { _ in
                        _ = try await client.rpc(add, AddInit(n: 3))
                    }
                }
            }
            let spans = tracer.finishedSpans
            let parent = try #require(spans.first { $0.operationName == "nightly-sum" })
            let call = try #require(spans.first { $0.operationName == "river.client.test.add" })
            #expect(call.parentSpanID == parent.spanID)
            #expect(server.lastTraceContext?.traceparent == W3CTestTracer.traceparent(call), "the live server got the call's traceparent")
        }
    }
}

import InMemoryTracing
import MetricsTestKit
import River
import RiverProtobuf
import RiverProtobufTestService
import RiverTestServer
import SwiftProtobuf
import Synchronization
import Testing
import Tracing

/// Protobuf calls run on `RawCall`, which goes through the same call layer as typed
/// procedures: the interceptors, the call's span and its metrics.
@Suite("Protobuf calls observed", .timeLimit(.minutes(1)))
struct ProtobufObservabilityTests {
    @Test func protobufCallsGoThroughInterceptorsSpansAndMetrics() async throws {
        let tracer = W3CTestTracer()
        let metrics = TestMetrics()
        let seen = Recorder()
        let results = ResultLog()
        let server = RiverTestServer(configuration: .init(codec: ProtoCodec(), mode: .protobuf, timings: .patient))
        try await server.withInMemoryConnector { connector in
            let configuration = RiverClient.Configuration(
                serverID: server.serverID, codec: ProtoCodec(),
                interceptors: [Probe(name: "probe", recorder: seen), ObserveResults(log: results)],
                tracer: tracer, metricsFactory: metrics).patient()
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                let test = River_Test_TestService.Client(client)
                #expect(try await test.echo(.with { $0.text = "hello" }).text == "HELLO")
                let error = try await #require(throws: ProtobufRPCError.self) {
                    _ = try await test.echo(.with { $0.text = "details" })
                }
                #expect(error.code == .failedPrecondition)
                #expect(error.metadata == ["field": "text"], "an observing result transform passes the error through whole")
            }
        }
        let echo = RiverProcedureDescriptor(service: "river.test.TestService", procedure: "Echo", kind: .rpc)
        #expect(seen.contexts.map(\.descriptor) == [echo, echo])
        #expect(seen.payloads.allSatisfy { if case .bytes = $0 { true } else { false } }, "the init payload is the message's bytes")
        let observed = results.all
        #expect(observed.count == 2)
        if case .ok(.bytes)? = observed.first {} else { Issue.record("the response is seen as a successful result: \(observed)") }
        if case .error(let payload)? = observed.last {
            #expect(payload.code == "FAILED_PRECONDITION")
        } else {
            Issue.record("the error result is seen as one: \(observed)")
        }

        let spans = tracer.finishedSpans.filter { $0.operationName == "river.client.river.test.TestService.Echo" }
        #expect(spans.count == 2)
        #expect(spans.allSatisfy { $0.kind == .client && $0.string("river.method.kind") == "rpc" })
        #expect(spans.first?.status == nil)
        #expect(spans.last?.string("river.error_code") == "FAILED_PRECONDITION")
        #expect(spans.last?.status?.code == .error)

        func finished(_ result: String) -> Int64 {
            metrics.counterTotal(
                label: RiverMetricLabel.callsFinished,
                dimensions: [
                    (RiverMetricLabel.Dimension.procedure, "river.test.TestService.Echo"),
                    (RiverMetricLabel.Dimension.kind, "rpc"), (RiverMetricLabel.Dimension.result, result),
                ])
        }
        #expect(finished("OK") == 1)
        #expect(finished("SERVICE_ERROR") == 1, "an error result the protobuf client throws counts as a service error")
    }
}

/// The results an interceptor saw, in order.
final class ResultLog: Sendable {
    private let results = Mutex<[ResultEnvelope]>([])
    func append(_ result: ResultEnvelope) { results.withLock { $0.append(result) } }
    var all: [ResultEnvelope] { results.withLock { $0 } }
}

/// Observes each result without changing it.
struct ObserveResults: RiverClientInterceptor {
    let log: ResultLog
    func intercept<Value: Sendable>(
        request: RiverClientRequest, context: RiverClientContext,
        next: (RiverClientRequest, RiverClientContext) async throws -> Value
    ) async throws -> Value {
        var request = request
        let log = log
        request.transformResults { result in
            log.append(result)
            return result
        }
        return try await next(request, context)
    }
}

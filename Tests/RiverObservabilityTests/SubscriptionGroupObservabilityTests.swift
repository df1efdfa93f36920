import InMemoryTracing
import River
import RiverReferenceClient
import RiverTestServer
import Testing
import Tracing

/// A subscription group's members are calls like any other for interceptors and tracing.
@Suite("Subscription group observability", .timeLimit(.minutes(1)))
struct SubscriptionGroupObservabilityTests {
    typealias Value = ReferenceServices.Subscribable.Value

    @Test func interceptorsSeeEachMembersOpeningAndTransformItsResults() async throws {
        let seen = Recorder()
        let server = RiverTestServer(configuration: .init(codec: JSONCodec(), timings: .patient))
        try await server.withInMemoryConnector { connector in
            let configuration = RiverClient.Configuration(
                codec: JSONCodec(), interceptors: [Probe(name: "client", recorder: seen), AddHundredToCounts()]
            ).patient()
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                try await client.withSubscriptionGroup(keyedBy: String.self, for: Value.procedure) { group in
                    try await group.add("a", Value.procedure, .init())
                    #expect(seen.names == ["client"], "the chain ran once, and its next returned when the member opened")
                    var events = group.events.makeAsyncIterator()
                    guard case .result("a", .success(let output))? = await events.next() else {
                        Issue.record("no result for a")
                        return
                    }
                    #expect(output.count == 100, "the interceptor's result transform applies to the member's results")
                }
            }
        }
        #expect(seen.contexts.first?.descriptor == RiverProcedureDescriptor(service: "subscribable", procedure: "value", kind: .subscription))
    }

    @Test func eachMemberIsASpanThatEndsWithIt() async throws {
        let tracer = W3CTestTracer()
        let server = RiverTestServer(configuration: .init(codec: JSONCodec(), timings: .patient))
        try await server.withInMemoryConnector { connector in
            let configuration = RiverClient.Configuration(codec: JSONCodec(), tracer: tracer).patient()
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                try await client.withSubscriptionGroup(keyedBy: Int.self, for: Value.procedure) { group in
                    try await group.add(1, Value.procedure, .init())
                    try await group.add(2, Value.procedure, .init())
                    var events = group.events.makeAsyncIterator()
                    _ = await events.next()
                    _ = await events.next()
                    group.cancel(1)
                    #expect(tracer.finishedSpans.filter { $0.operationName == "river.client.subscribable.value" }.count == 1)
                }
            }
        }
        let members = tracer.finishedSpans.filter { $0.operationName == "river.client.subscribable.value" }
        #expect(members.count == 2, "the scope's end finished the other member's span")
        #expect(Set(members.compactMap { $0.string("river.streamId") }).count == 2)
        #expect(members.allSatisfy { $0.string("river.error_code") == "CANCEL" })
    }
}

/// Adds 100 to each result's `count`.
private struct AddHundredToCounts: RiverClientInterceptor {
    func intercept<Value: Sendable>(
        request: RiverClientRequest, context: RiverClientContext,
        next: (RiverClientRequest, RiverClientContext) async throws -> Value
    ) async throws -> Value {
        var request = request
        request.transformResults { result in
            guard case .ok(.object(var fields)) = result, let count = fields["count"]?.doubleValue else { return result }
            fields["count"] = .double(count + 100)
            return .ok(.object(fields))
        }
        return try await next(request, context)
    }
}

import MetricsTestKit
import River
import RiverReferenceClient
import RiverTestServer
import Testing

@Suite("Metrics", .timeLimit(.minutes(1)))
struct MetricsTests {
    typealias Label = RiverMetricLabel
    typealias Dimension = RiverMetricLabel.Dimension

    @Test func callsAreCountedByProcedureKindAndResult() async throws {
        let metrics = TestMetrics()
        let server = RiverTestServer(configuration: .init(codec: JSONCodec(), timings: .patient))
        try await server.withInMemoryConnector { connector in
            let configuration = RiverClient.Configuration(codec: JSONCodec(), metricsFactory: metrics).patient()
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                _ = try await ReferenceServices.Test.Client(client).add(.init(n: 1)).get()
                _ = try await ReferenceServices.Test.Client(client).add(.init(n: 1)).get()
                _ = try await ReferenceServices.Fallible.Client(client).divide(.init(a: 1, b: 0))
                _ = try? await client.rpc(
                    ReferenceServices.Cancel.BlockingRpc.procedure, .init(), options: CallOptions(timeout: .milliseconds(50)))
                let echoed = try await client.stream(ReferenceServices.Test.Echo.procedure, .init()) { writer, responses in
                    try await writer.write(.init(msg: "hi"))
                    try await writer.finish()
                    var count = 0
                    for try await _ in responses { count += 1 }
                    return count
                }
                #expect(echoed == 1)
            }
        }
        func dimensions(_ procedure: String, _ kind: String, _ result: String? = nil) -> [(String, String)] {
            var dimensions = [(Dimension.procedure, procedure), (Dimension.kind, kind)]
            if let result { dimensions.append((Dimension.result, result)) }
            return dimensions
        }
        #expect(metrics.counterTotal(label: Label.callsStarted, dimensions: dimensions("test.add", "rpc")) == 2)
        #expect(metrics.counterTotal(label: Label.callsFinished, dimensions: dimensions("test.add", "rpc", "OK")) == 2)
        #expect(metrics.counterTotal(label: Label.callsFinished, dimensions: dimensions("fallible.divide", "rpc", "SERVICE_ERROR")) == 1)
        #expect(
            metrics.counterTotal(label: Label.callsFinished, dimensions: dimensions("cancel.blockingRpc", "rpc", "DEADLINE_EXCEEDED")) == 1)
        #expect(metrics.counterTotal(label: Label.callsFinished, dimensions: dimensions("test.echo", "stream", "OK")) == 1)
        let timer = try metrics.expectTimer(Label.callDuration, dimensions("test.add", "rpc"))
        #expect(timer.values.count == 2)
        #expect(timer.values.allSatisfy { $0 > 0 })

        // Every dimension of every metric is bounded: no stream, session or client ids.
        let allowed: Set<String> = [Dimension.procedure, Dimension.kind, Dimension.result, Dimension.server, Dimension.handshakeCode]
        for counter in metrics.counters {
            #expect(counter.dimensions.allSatisfy { allowed.contains($0.0) }, "\(counter.label): \(counter.dimensions)")
        }
    }

    @Test func connectionsSessionsAndTheSendBufferAreReported() async throws {
        let metrics = TestMetrics()
        let server = RiverTestServer(configuration: .init(codec: MessagePackCodec(), timings: .patient))
        let byServer = [(Dimension.server, "SERVER")]
        try await server.withInMemoryConnector { connector in
            let configuration = RiverClient.Configuration(codec: MessagePackCodec(), metricsFactory: metrics).patient()
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                let events = client.events()
                _ = try await ReferenceServices.Test.Client(client).add(.init(n: 1)).get()
                #expect(try metrics.expectGauge(Label.connectionState, byServer).lastValue == 2)

                // A dropped connection: the session resumes on a new one (a reconnect).
                #expect(server.dropAllConnections() == 1)
                try await waitFor(events) { if case .sessionStatus(.resumed) = $0 { true } else { false } }
                _ = try await ReferenceServices.Test.Client(client).add(.init(n: 1)).get()

                // A destroyed session: the next call creates another.
                client.hardDisconnect()
                _ = try await ReferenceServices.Test.Client(client).add(.init(n: 1)).get()
            }
        }
        #expect(metrics.counterTotal(label: Label.sessionsCreated, dimensions: byServer) == 2)
        #expect(metrics.counterTotal(label: Label.sessionsDestroyed, dimensions: byServer) == 2, "the hard disconnect and the close")
        #expect(metrics.counterTotal(label: Label.reconnects, dimensions: byServer) == 1)
        #expect(metrics.counterTotal(label: Label.connectionAttempts, dimensions: byServer) == 3)
        #expect(try metrics.expectGauge(Label.connectionState, byServer).lastValue == 0, "closed")
        let messages = try metrics.expectGauge(Label.sendBufferMessages, byServer)
        let bytes = try metrics.expectGauge(Label.sendBufferBytes, byServer)
        #expect(messages.values.contains { $0 >= 1 }, "an rpc waits in the buffer until acknowledged")
        #expect(bytes.values.contains { $0 > 0 })
    }

    @Test func handshakeFailuresAreCountedByCode() async throws {
        let metrics = TestMetrics()
        let server = RiverTestServer(configuration: .init(codec: JSONCodec(), mode: .handshake, timings: .patient))
        try await server.withInMemoryConnector { connector in
            var configuration = RiverClient.Configuration(
                serverID: RiverTestServer.handshakeServerID, codec: JSONCodec(), metricsFactory: metrics).patient()
            configuration.handshakeMetadata = { ["token": "wrong"] }
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                let events = client.events()
                client.connect()
                try await waitFor(events) {
                    if case .protocolError(let error) = $0, case .handshakeFailed = error.kind { true } else { false }
                }
            }
        }
        let failures = metrics.counters(label: Label.handshakeFailures)
        #expect(failures.count == 1)
        #expect(failures.first?.dimensions.first { $0.0 == Dimension.handshakeCode }?.1 == "REJECTED_BY_CUSTOM_HANDLER")
        #expect(failures.first?.totalValue ?? 0 >= 1)
    }

    @Test func withoutABackendNothingIsCreated() async throws {
        // No factory passed and none bootstrapped: the client resolves to no metrics at all.
        let server = RiverTestServer(configuration: .init(codec: JSONCodec(), timings: .patient))
        try await server.withInMemoryConnector { connector in
            try await withRiverClient(connector: connector, configuration: RiverClient.Configuration(codec: JSONCodec()).patient()) { client in
                _ = try await ReferenceServices.Test.Client(client).add(.init(n: 1)).get()
                #expect(client.transport.observation.recordsSendBuffer == false)
            }
        }
    }
}

import InMemoryTracing
import River
import RiverReferenceClient
import RiverTestServer
import Testing
import Tracing

@Suite("Tracing", .timeLimit(.minutes(1)))
struct TracingTests {
    typealias Test = ReferenceServices.Test
    typealias Fallible = ReferenceServices.Fallible

    @Test(arguments: [any RiverCodec & Sendable].codecs)
    func aCallIsAClientSpanUnderTheCallersSpan(codec: any RiverCodec) async throws {
        let tracer = W3CTestTracer()
        let server = RiverTestServer(configuration: .init(codec: codec))
        try await server.withInMemoryConnector { connector in
            let configuration = RiverClient.Configuration(codec: codec, tracer: tracer).patient()
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                let parent = tracer.startSpan("request")
                try await ServiceContext.withValue(parent.context) {
                    _ = try await Test.Client(client).add(.init(n: 2)).get()
                }
                parent.end()
            }
        }
        let spans = tracer.finishedSpans
        let call = try #require(spans.first { $0.operationName == "river.client.test.add" })
        let request = try #require(spans.first { $0.operationName == "request" })
        #expect(call.kind == .client)
        #expect(call.traceID == request.traceID)
        #expect(call.parentSpanID == request.spanID, "a call made inside a span is its child")
        #expect(call.string("component") == "river")
        #expect(call.string("river.method.kind") == "rpc")
        #expect(call.string("river.method.service") == "test")
        #expect(call.string("river.method.name") == "add")
        #expect(call.string("river.streamId")?.isEmpty == false)
        #expect(call.status == nil && call.errors.isEmpty)
        let session = try #require(spans.first { $0.operationName == "river.session" })
        #expect(call.links.map(\.context.inMemorySpanContext?.spanID) == [session.spanID], "linked to its session")
    }

    @Test func sessionAndConnectionSpansCarryTheReferenceAttributes() async throws {
        let tracer = W3CTestTracer()
        let server = RiverTestServer(configuration: .init(codec: JSONCodec(), timings: .patient))
        let clientID = "swift-tracing-test"
        try await server.withInMemoryConnector { connector in
            let configuration = RiverClient.Configuration(clientID: clientID, codec: JSONCodec(), tracer: tracer).patient()
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                _ = try await Test.Client(client).add(.init(n: 1)).get()
            }
        }
        let spans = tracer.finishedSpans
        let session = try #require(spans.first { $0.operationName == "river.session" })
        #expect(session.parentSpanID == nil, "a session span is a root: it outlives the call that opened it")
        #expect(session.string("component") == "river")
        #expect(session.string("river.session.id")?.hasPrefix("session-") == true)
        #expect(session.string("river.session.to") == "SERVER")
        #expect(session.string("river.session.from") == clientID)
        #expect(session.string("river.session.destroy_reason") == "clientClosed: the client was closed")
        let connection = try #require(spans.first { $0.operationName == "river.connection" })
        #expect(connection.parentSpanID == session.spanID)
        #expect(connection.traceID == session.traceID)
        #expect(connection.links.map(\.context.inMemorySpanContext?.spanID) == [session.spanID])
        #expect(connection.string("component") == "river")
        #expect(connection.string("river.connection.id") == "conn-1")
        #expect(connection.string("river.connection.close_reason") == "clientClosed: the client was closed")
        #expect(connection.string("river.session.destroy_reason") == nil, "the session's reason is on the session span")
        #expect(connection.events.map(\.name) == ["connected"])
        #expect(tracer.activeSpans.isEmpty, "closing the client ends every span")
    }

    @Test func serviceErrorsAndThrownErrorsAreRecordedOnTheSpan() async throws {
        let tracer = W3CTestTracer()
        let server = RiverTestServer(configuration: .init(codec: MessagePackCodec(), timings: .patient))
        try await server.withInMemoryConnector { connector in
            let configuration = RiverClient.Configuration(codec: MessagePackCodec(), tracer: tracer).patient()
            try await withRiverClient(connector: connector, configuration: configuration) { client in
                let divided = try await Fallible.Client(client).divide(.init(a: 1, b: 0))
                guard case .failure(.divByZero) = divided else {
                    Issue.record("expected DIV_BY_ZERO, got \(divided)")
                    return
                }
                let deadline = await #expect(throws: RiverError.self) {
                    _ = try await client.rpc(
                        ReferenceServices.Cancel.BlockingRpc.procedure, .init(), options: CallOptions(timeout: .milliseconds(50)))
                }
                #expect(deadline?.code == .deadlineExceeded)
            }
        }
        let spans = tracer.finishedSpans
        let divide = try #require(spans.first { $0.operationName == "river.client.fallible.divide" })
        #expect(divide.string("river.error_code") == "DIV_BY_ZERO")
        #expect(divide.string("river.error_message")?.isEmpty == false)
        #expect(divide.status?.code == .error)
        let blocking = try #require(spans.first { $0.operationName == "river.client.cancel.blockingRpc" })
        #expect(blocking.string("river.error_code") == "DEADLINE_EXCEEDED")
        #expect(blocking.status?.code == .error)
        #expect((blocking.errors.first?.error as? RiverError)?.code == .deadlineExceeded)
    }

    /// The exact W3C values on the wire: the handshake carries the session span's context, the
    /// stream-open message the call span's; the server side reads them back with the same
    /// instrument (``TracingContext/extract(into:instrument:)``).
    @Test(arguments: [any RiverCodec & Sendable].codecs)
    func theHandshakeAndTheOpenMessageCarryTraceparent(codec: any RiverCodec) async throws {
        let tracer = W3CTestTracer()
        let wire = try await ScriptedServer.firstFrames(codec: codec) { connector in
            let configuration = RiverClient.Configuration(codec: codec, tracer: tracer).patient()
            return RiverClient(connector: connector, configuration: configuration)
        } call: { client in
            _ = try? await client.rpc(Test.Add.procedure, .init(n: 1))
        }
        let session = try #require(tracer.finishedSpans.first { $0.operationName == "river.session" })
        let handshakeParent = "00-\(session.traceID)-\(session.spanID)-01"
        #expect(wire.handshake.tracing == TracingContext(traceparent: handshakeParent, tracestate: "river=test"))
        let call = try #require(tracer.finishedSpans.first { $0.operationName == "river.client.test.add" })
        #expect(wire.open.tracing == TracingContext(traceparent: W3CTestTracer.traceparent(call), tracestate: "river=test"))

        var extracted = ServiceContext.topLevel
        try #require(wire.open.tracing).extract(into: &extracted, instrument: tracer)
        #expect(extracted.inMemorySpanContext?.spanID == call.spanID)

        // The bytes themselves: each field as the codec writes a string-valued key.
        for (frame, traceparent) in [(wire.handshakeBytes, handshakeParent), (wire.openBytes, W3CTestTracer.traceparent(call))] {
            #expect(frame.contains(Self.encodedField("traceparent", traceparent, codec: codec)), "\(traceparent)")
            #expect(frame.contains(Self.encodedField("tracestate", "river=test", codec: codec)))
        }
    }

    /// A string field as `codec` puts it on the wire: `"key":"value"` in JSON; in msgpack the
    /// key as a fixstr and the value as a fixstr or str8 (a traceparent is 55 bytes).
    static func encodedField(_ key: String, _ value: String, codec: any RiverCodec) -> [UInt8] {
        if codec is JSONCodec { return Array("\"\(key)\":\"\(value)\"".utf8) }
        func string(_ text: String) -> [UInt8] {
            let bytes = Array(text.utf8)
            return (bytes.count < 32 ? [0xA0 | UInt8(bytes.count)] : [0xD9, UInt8(bytes.count)]) + bytes
        }
        return string(key) + string(value)
    }

    @Test func withoutATracerTheFieldsAreEmptyAndTheOverrideGoesOut() async throws {
        let override = TracingContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "k=v")
        let wire = try await ScriptedServer.firstFrames(codec: JSONCodec()) { connector in
            RiverClient(connector: connector, configuration: RiverClient.Configuration(codec: JSONCodec()).patient())
        } call: { client in
            _ = try? await client.rpc(Test.Add.procedure, .init(n: 1), options: CallOptions(tracing: override))
        }
        #expect(wire.handshake.tracing == .empty)
        #expect(wire.open.tracing == override)
    }

    @Test func theInjectorWritesOnlyW3CHeaders() {
        var carrier = TracingContext()
        let injector = TracingContextInjector()
        injector.inject("00-a-b-01", forKey: "Traceparent", into: &carrier)
        injector.inject("x=y", forKey: "tracestate", into: &carrier)
        injector.inject("k=v", forKey: "baggage", into: &carrier)
        #expect(carrier == TracingContext(traceparent: "00-a-b-01", tracestate: "x=y"))
        let extractor = TracingContextExtractor()
        #expect(extractor.extract(key: "traceparent", from: carrier) == "00-a-b-01")
        #expect(extractor.extract(key: "baggage", from: carrier) == nil)
        #expect(extractor.extract(key: "traceparent", from: .empty) == nil, "empty reads as absent")
    }
}

extension [any RiverCodec & Sendable] {
    /// Both codecs.
    static var codecs: [any RiverCodec & Sendable] { [JSONCodec(), MessagePackCodec()] }
}

import InMemoryTracing
import Synchronization
import Tracing

/// An in-memory tracer that propagates W3C trace context, so tests can check the exact
/// `traceparent` River puts on the wire: swift-distributed-tracing's `InMemoryTracer` records
/// spans, with ids that are W3C-shaped (32 and 16 hex digits, counting up), and this wrapper
/// injects `traceparent` = `00-<trace id>-<span id>-01` and `tracestate` = `river=test`.
struct W3CTestTracer: Tracer {
    typealias Span = InMemorySpan

    let recorder: InMemoryTracer

    init() {
        let traces = Atomic<Int>(0)
        let spans = Atomic<Int>(0)
        recorder = InMemoryTracer(
            idGenerator: .init(
                nextTraceID: { Self.hex(traces.add(1, ordering: .relaxed).newValue, digits: 32) },
                nextSpanID: { Self.hex(spans.add(1, ordering: .relaxed).newValue, digits: 16) }))
    }

    static func hex(_ value: Int, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// The `traceparent` of a span.
    static func traceparent(_ span: FinishedInMemorySpan) -> String { "00-\(span.traceID)-\(span.spanID)-01" }

    var finishedSpans: [FinishedInMemorySpan] { recorder.finishedSpans }
    var activeSpans: [InMemorySpan] { recorder.activeSpans }

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> InMemorySpan {
        recorder.startSpan(operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID, line: line)
    }

    func activeSpan(identifiedBy context: ServiceContext) -> InMemorySpan? { recorder.activeSpan(identifiedBy: context) }

    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let span = context.inMemorySpanContext else { return }
        injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: "traceparent", into: &carrier)
        injector.inject("river=test", forKey: "tracestate", into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let parent = extractor.extract(key: "traceparent", from: carrier) else { return }
        let parts = parent.split(separator: "-")
        guard parts.count == 4 else { return }
        context.inMemorySpanContext = InMemorySpanContext(traceID: String(parts[1]), spanID: String(parts[2]), parentSpanID: nil)
    }
}

extension FinishedInMemorySpan {
    /// A string attribute's value.
    func string(_ name: String) -> String? {
        guard case .string(let value)? = attributes.get(name) else { return nil }
        return value
    }
}

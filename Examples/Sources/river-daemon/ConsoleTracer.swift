import Synchronization
import Tracing

/// A tracer for the console: each span, when it ends, is printed as one line with its trace,
/// span and parent ids, kind, duration, links, attributes, events and status. It propagates
/// W3C trace context (`traceparent`, `tracestate`), so the ids it prints are the ones River
/// sends to the server. Good enough to see a trace; use swift-otel to export one.
struct ConsoleTracer: Tracer {
    typealias Span = ConsoleSpan

    /// Where the lines go.
    let write: @Sendable (String) -> Void

    init(write: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.write = write
    }

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> ConsoleSpan {
        let parentContext = context()
        let parent = parentContext.consoleSpanContext
        let spanContext = ConsoleSpanContext(
            traceID: parent?.traceID ?? Self.randomHex(bytes: 16), spanID: Self.randomHex(bytes: 8), parentSpanID: parent?.spanID)
        var context = parentContext
        context.consoleSpanContext = spanContext
        return ConsoleSpan(
            operationName: operationName, kind: kind, context: context, spanContext: spanContext,
            start: instant().nanosecondsSinceEpoch, write: write)
    }

    func activeSpan(identifiedBy context: ServiceContext) -> ConsoleSpan? { nil }

    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let span = context.consoleSpanContext else { return }
        injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: "traceparent", into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let parent = extractor.extract(key: "traceparent", from: carrier) else { return }
        let fields = parent.split(separator: "-")
        guard fields.count == 4 else { return }
        context.consoleSpanContext = ConsoleSpanContext(traceID: String(fields[1]), spanID: String(fields[2]), parentSpanID: nil)
    }

    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0 ..< bytes).map { _ in
            let byte = UInt8.random(in: 0 ... 255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}

/// A span's ids.
struct ConsoleSpanContext: Sendable, Hashable {
    var traceID: String
    var spanID: String
    var parentSpanID: String?
}

extension ServiceContext {
    /// The console tracer's span in this context.
    var consoleSpanContext: ConsoleSpanContext? {
        get { self[ConsoleSpanContextKey.self] }
        set { self[ConsoleSpanContextKey.self] = newValue }
    }
}

private enum ConsoleSpanContextKey: ServiceContextKey {
    typealias Value = ConsoleSpanContext
}

/// A span of the ``ConsoleTracer``.
final class ConsoleSpan: Span {
    private struct State {
        var operationName: String
        var attributes: SpanAttributes = [:]
        var events: [String] = []
        var links: [String] = []
        var status: SpanStatus?
        var ended = false
    }

    let context: ServiceContext
    private let kind: SpanKind
    private let spanContext: ConsoleSpanContext
    private let start: UInt64
    private let write: @Sendable (String) -> Void
    private let state: Mutex<State>

    init(
        operationName: String, kind: SpanKind, context: ServiceContext, spanContext: ConsoleSpanContext, start: UInt64,
        write: @escaping @Sendable (String) -> Void
    ) {
        self.kind = kind
        self.context = context
        self.spanContext = spanContext
        self.start = start
        self.write = write
        self.state = Mutex(State(operationName: operationName))
    }

    var operationName: String {
        get { state.withLock { $0.operationName } }
        set { state.withLock { $0.operationName = newValue } }
    }

    var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { $0.attributes = newValue } }
    }

    var isRecording: Bool { state.withLock { !$0.ended } }

    func setStatus(_ status: SpanStatus) { state.withLock { $0.status = status } }

    func addEvent(_ event: SpanEvent) { state.withLock { $0.events.append(event.name) } }

    func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        state.withLock { $0.events.append("error: \(error)") }
    }

    func addLink(_ link: SpanLink) {
        guard let linked = link.context.consoleSpanContext else { return }
        state.withLock { $0.links.append(linked.spanID) }
    }

    func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let end = instant().nanosecondsSinceEpoch
        guard let ended = state.withLock({ state -> State? in
            if state.ended { return nil }
            state.ended = true
            return state
        }) else { return }
        var attributes: [String] = []
        ended.attributes.forEach { key, value in attributes.append("\(key)=\(Self.text(value))") }
        var line = "span \(ended.operationName) [\(kind)] trace=\(spanContext.traceID) span=\(spanContext.spanID)"
        line += " parent=\(spanContext.parentSpanID ?? "-") \((end &- start) / 1000) µs"
        if !ended.links.isEmpty { line += " links=\(ended.links.joined(separator: ","))" }
        if !attributes.isEmpty { line += " {\(attributes.sorted().joined(separator: " "))}" }
        if !ended.events.isEmpty { line += " events=\(ended.events)" }
        if let status = ended.status { line += " status=\(status.code)\(status.message.map { ": \($0)" } ?? "")" }
        write(line)
    }

    /// An attribute's value as plain text.
    private static func text(_ value: SpanAttribute) -> String {
        switch value {
        case .string(let text): text
        case .int64(let number): "\(number)"
        case .int32(let number): "\(number)"
        case .double(let number): "\(number)"
        case .bool(let flag): "\(flag)"
        default: "\(value)"
        }
    }
}

public import Tracing

/// W3C trace context in River's `tracing` field: how an `Instrument` writes a `ServiceContext`
/// into a message (``init(context:instrument:)``) and reads it back (``extract(into:instrument:)``).
///
/// The instrument decides what is written: a W3C tracer (swift-otel's, for example) sets
/// `traceparent` and `tracestate`; with no instrument installed both stay empty, which is what
/// the reference client sends when no OpenTelemetry propagator is registered.
extension TracingContext {
    /// The trace context `instrument` injects for `context`.
    /// - Parameters:
    ///   - context: The context to propagate (usually one holding a span).
    ///   - instrument: The instrument that writes it (default: the installed one).
    public init(context: ServiceContext, instrument: any Instrument = InstrumentationSystem.instrument) {
        self.init()
        instrument.inject(context, into: &self, using: TracingContextInjector())
    }

    /// Adds what `instrument` reads from these values to `context` (the receiving side of
    /// ``init(context:instrument:)``; a server starts its handler span from the result).
    /// - Parameters:
    ///   - context: The context to add the remote span context to.
    ///   - instrument: The instrument that reads it (default: the installed one).
    public func extract(into context: inout ServiceContext, instrument: any Instrument = InstrumentationSystem.instrument) {
        instrument.extract(self, into: &context, using: TracingContextExtractor())
    }
}

/// Writes the W3C `traceparent` and `tracestate` headers into a ``TracingContext``; other
/// headers an instrument may write (baggage, vendor ones) have no place in River's field.
public struct TracingContextInjector: Injector {
    /// Creates an injector.
    public init() {}

    /// Sets `traceparent` or `tracestate` (case-insensitively); ignores other keys.
    public func inject(_ value: String, forKey key: String, into carrier: inout TracingContext) {
        switch key.lowercased() {
        case "traceparent": carrier.traceparent = value
        case "tracestate": carrier.tracestate = value
        default: break
        }
    }
}

/// Reads the W3C `traceparent` and `tracestate` headers from a ``TracingContext``; an empty
/// value (what a client without a tracer sends) reads as absent.
public struct TracingContextExtractor: Extractor {
    /// Creates an extractor.
    public init() {}

    /// The value of `traceparent` or `tracestate` (case-insensitively), `nil` when empty or
    /// for any other key.
    public func extract(key: String, from carrier: TracingContext) -> String? {
        let value: String
        switch key.lowercased() {
        case "traceparent": value = carrier.traceparent
        case "tracestate": value = carrier.tracestate
        default: return nil
        }
        return value.isEmpty ? nil : value
    }
}

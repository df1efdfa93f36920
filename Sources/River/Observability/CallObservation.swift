import CoreMetrics
import Logging
import Tracing

/// One call as the client's instruments see it: its span (when a tracer is installed), its
/// start time (when metrics or debug logging want a duration) and its log lines.
///
/// Spans follow the reference client: `river.client.<service>.<procedure>`, kind client,
/// started from the caller's `ServiceContext` (so a call made inside a request's span is its
/// child), with `component`, `river.method.kind`, `river.method.service`, `river.method.name`
/// and `river.streamId`; a failure sets `river.error_code` and `river.error_message` and the
/// error status.
struct CallObservation: Sendable {
    let descriptor: RiverProcedureDescriptor
    let streamID: String
    /// The call's span; `nil` without a tracer.
    let span: (any Span)?
    private let instruments: RiverInstruments
    private let started: ContinuousClock.Instant?

    /// Starts observing a call: starts its span and counts it.
    init(descriptor: RiverProcedureDescriptor, streamID: String, context: ServiceContext, instruments: RiverInstruments) {
        self.descriptor = descriptor
        self.streamID = streamID
        self.instruments = instruments
        if let tracer = instruments.tracer {
            let span = tracer.startSpan("river.client.\(descriptor.fullName)", context: context, ofKind: .client)
            span.updateAttributes { attributes in
                attributes["component"] = "river"
                attributes["river.method.kind"] = descriptor.kind.rawValue
                attributes["river.method.service"] = descriptor.serviceName
                attributes["river.method.name"] = descriptor.procedureName
                attributes["river.streamId"] = streamID
                attributes["span.kind"] = "client"
            }
            self.span = span
        } else {
            self.span = nil
        }
        let logsDebug = instruments.logger.logLevel <= .debug
        started = instruments.metrics != nil || logsDebug ? ContinuousClock.now : nil
        if let factory = instruments.metrics {
            Counter(label: RiverMetricLabel.callsStarted, dimensions: callDimensions, factory: factory).increment()
        }
        if logsDebug {
            instruments.logger.debug("river call started", metadata: metadata(sessionID: nil))
        }
    }

    /// Whether observing the call does anything past its start: it has a span or metrics, or
    /// its end is logged (debug logging); both need its start time.
    var isActive: Bool { span != nil || started != nil }

    /// The trace context for the call's open message: `override` when the caller set one,
    /// else what the instrument injects for the call's span, else empty.
    func tracing(override: TracingContext?) -> TracingContext {
        if let override { return override }
        guard let span, let instrument = instruments.instrument else { return .empty }
        return TracingContext(context: span.context, instrument: instrument)
    }

    /// Links the call's span to its session's span, as the reference does.
    func link(toSession context: ServiceContext?) {
        guard let span, let context else { return }
        span.addLink(SpanLink(context: context, attributes: [:]))
    }

    /// Records a service error the server sent on the span (`river.error_code`,
    /// `river.error_message`, error status).
    func recordServiceError(code: String, message: String) {
        guard let span else { return }
        span.updateAttributes { attributes in
            attributes["river.error_code"] = code
            attributes["river.error_message"] = message
        }
        span.setStatus(SpanStatus(code: .error, message: message))
    }

    /// The call ended: ends the span, counts the ending, records the duration and logs it.
    /// - Parameter sessionID: The session that carried the call (read only for the log line).
    func finish(_ ending: CallEnding, sessionID: @autoclosure () -> String?) {
        if let span {
            if let error = ending.error {
                span.recordError(error)
                let (code, message) = error.riverCodeAndMessage
                span.updateAttributes { attributes in
                    attributes["river.error_code"] = code
                    attributes["river.error_message"] = message
                }
                span.setStatus(SpanStatus(code: .error, message: message))
            }
            span.end()
        }
        let elapsed = started.map { ContinuousClock.now - $0 }
        if let factory = instruments.metrics {
            var dimensions = callDimensions
            dimensions.append((RiverMetricLabel.Dimension.result, ending.label))
            Counter(label: RiverMetricLabel.callsFinished, dimensions: dimensions, factory: factory).increment()
            if let elapsed {
                Timer(label: RiverMetricLabel.callDuration, dimensions: callDimensions, factory: factory)
                    .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            }
        }
        if instruments.logger.logLevel <= .debug {
            var metadata = metadata(sessionID: sessionID())
            metadata[RiverLogMetadataKey.result] = "\(ending.label)"
            if let elapsed {
                let milliseconds = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
                metadata[RiverLogMetadataKey.durationMilliseconds] = "\(milliseconds)"
            }
            if let error = ending.error {
                let (code, message) = error.riverCodeAndMessage
                metadata[RiverLogMetadataKey.errorCode] = "\(code)"
                metadata[RiverLogMetadataKey.errorMessage] = "\(message)"
            }
            instruments.logger.debug("river call finished", metadata: metadata)
        }
    }

    private var callDimensions: [(String, String)] {
        [(RiverMetricLabel.Dimension.procedure, descriptor.fullName), (RiverMetricLabel.Dimension.kind, descriptor.kind.rawValue)]
    }

    private func metadata(sessionID: String?) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            RiverLogMetadataKey.procedure: "\(descriptor.fullName)",
            RiverLogMetadataKey.methodKind: "\(descriptor.kind.rawValue)",
            RiverLogMetadataKey.streamID: "\(streamID)",
        ]
        if let sessionID { metadata[RiverLogMetadataKey.sessionID] = "\(sessionID)" }
        return metadata
    }
}

/// An error of another River client API (the protobuf client's) that carries a River wire
/// code: spans and log lines report its code instead of `OTHER`.
package protocol RiverCodedError: Error {
    /// The code's wire spelling.
    var riverCode: String { get }
    /// The message.
    var riverMessage: String { get }
}

extension Error {
    /// The code and message River reports for this error (a ``RiverError``'s or a
    /// ``RiverCodedError``'s own; for others `OTHER` and the description).
    var riverCodeAndMessage: (code: String, message: String) {
        if let error = self as? RiverError { return (error.code.rawValue, error.message) }
        if let error = self as? any RiverCodedError { return (error.riverCode, error.riverMessage) }
        if self is CancellationError { return (RiverError.Code.cancel.rawValue, "cancelled") }
        return ("OTHER", "\(self)")
    }
}

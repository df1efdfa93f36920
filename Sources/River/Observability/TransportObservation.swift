import CoreMetrics
import Logging
import Synchronization
import Tracing

/// A transport's spans, metrics and log lines for its connection and session changes.
///
/// The transport hands it every ``RiverEvent`` its state machine emits (``record(_:)``), in
/// order, under the transport's lock. Spans follow the reference implementation: a
/// `river.session` span per session (attributes `component`, `river.session.id`,
/// `river.session.to`, `river.session.from`) whose context goes into the handshake's `tracing`
/// field, and a `river.connection` span per connection attempt, a child of the session's span
/// and linked to it (`component`, `river.connection.id`). Unlike the reference, a session
/// span starts from the top-level context, not from the call that happened to open the
/// session: a session outlives its calls, and a trace of one request should not last hours.
package final class TransportObservation: Sendable {
    private struct State {
        var sessionID: String?
        var sessionSpan: (any Span)?
        var connectionSpan: (any Span)?
    }

    /// Metric handles, created once.
    private struct Metrics: Sendable {
        let connectionAttempts: Counter
        let reconnects: Counter
        let sessionsCreated: Counter
        let sessionsDestroyed: Counter
        let connectionState: Gauge
        let sendBufferMessages: Gauge
        let sendBufferBytes: Gauge
        let factory: any MetricsFactory
    }

    private let state = Mutex(State())
    private let instruments: RiverInstruments
    private let metrics: Metrics?
    private let serverID: String
    private let clientID: String

    init(instruments: RiverInstruments, serverID: String, clientID: String) {
        self.instruments = instruments
        self.serverID = serverID
        self.clientID = clientID
        metrics = instruments.metrics.map { factory in
            let server = [(RiverMetricLabel.Dimension.server, serverID)]
            return Metrics(
                connectionAttempts: Counter(label: RiverMetricLabel.connectionAttempts, dimensions: server, factory: factory),
                reconnects: Counter(label: RiverMetricLabel.reconnects, dimensions: server, factory: factory),
                sessionsCreated: Counter(label: RiverMetricLabel.sessionsCreated, dimensions: server, factory: factory),
                sessionsDestroyed: Counter(label: RiverMetricLabel.sessionsDestroyed, dimensions: server, factory: factory),
                connectionState: Gauge(label: RiverMetricLabel.connectionState, dimensions: server, factory: factory),
                sendBufferMessages: Gauge(label: RiverMetricLabel.sendBufferMessages, dimensions: server, factory: factory),
                sendBufferBytes: Gauge(label: RiverMetricLabel.sendBufferBytes, dimensions: server, factory: factory),
                factory: factory)
        }
    }

    /// The context of the live session's span (calls link to it), if there is one.
    var sessionSpanContext: ServiceContext? { state.withLock { $0.sessionSpan?.context } }

    /// Whether send-buffer gauges are wanted (a metrics backend is bootstrapped).
    package var recordsSendBuffer: Bool { metrics != nil }

    /// Records the send buffer's size.
    func recordSendBuffer(messages: Int, bytes: Int) {
        guard let metrics else { return }
        metrics.sendBufferMessages.record(messages)
        metrics.sendBufferBytes.record(bytes)
    }

    /// Records one event of the transport's state machine.
    /// - Returns: For a session just created, the trace context its handshakes carry (empty
    ///   without a tracer); otherwise `nil`.
    func record(_ event: RiverEvent) -> TracingContext? {
        switch event {
        case .sessionStatus(.created(let sessionID)):
            return sessionCreated(sessionID)
        case .sessionStatus(.resumed(let sessionID, let replayed)):
            metrics?.reconnects.increment()
            state.withLock { $0.sessionSpan?.addEvent("session resumed") }
            log(.info, "river session resumed", sessionID: sessionID, [RiverLogMetadataKey.replayed: "\(replayed)"])
        case .sessionStatus(.destroyed(let sessionID, let reason)):
            metrics?.sessionsDestroyed.increment()
            metrics?.connectionState.record(0)
            let spans = state.withLock { state in
                defer { state = State() }
                return (state.connectionSpan, state.sessionSpan)
            }
            if let connection = spans.0 {
                connection.attributes["river.connection.close_reason"] = reason
                connection.end()
            }
            if let session = spans.1 {
                session.attributes["river.session.destroy_reason"] = reason
                session.end()
            }
            // Closing the client ends its session on purpose: not a warning.
            let level: Logger.Level = reason.hasPrefix("\(RiverFailureCause.Kind.clientClosed):") ? .info : .warning
            log(level, "river session destroyed", sessionID: sessionID, [RiverLogMetadataKey.reason: "\(reason)"])
        case .connectionStatus(.connecting(let attempt)):
            metrics?.connectionAttempts.increment()
            metrics?.connectionState.record(1)
            connectionStarted(attempt: attempt)
            log(.debug, "river connecting", sessionID: nil, [RiverLogMetadataKey.connectionAttempt: "\(attempt)"])
        case .connectionStatus(.connected(let sessionID)):
            metrics?.connectionState.record(2)
            state.withLock { $0.connectionSpan?.addEvent("connected") }
            log(.info, "river connected", sessionID: sessionID, [:])
        case .connectionStatus(.disconnected(let reason)):
            metrics?.connectionState.record(0)
            let span = state.withLock { state in
                defer { state.connectionSpan = nil }
                return state.connectionSpan
            }
            if let span {
                span.attributes["river.connection.close_reason"] = reason
                span.end()
            }
            log(.warning, "river connection lost", sessionID: nil, [RiverLogMetadataKey.reason: "\(reason)"])
        case .protocolError(let error):
            protocolError(error)
        }
        return nil
    }

    /// Ends the spans still open (the transport closed).
    func finish() {
        let spans = state.withLock { state in
            defer { state = State() }
            return [state.connectionSpan, state.sessionSpan]
        }
        for span in spans { span?.end() }
    }

    private func sessionCreated(_ sessionID: String) -> TracingContext {
        metrics?.sessionsCreated.increment()
        log(.info, "river session created", sessionID: sessionID, [:])
        guard let tracer = instruments.tracer else {
            state.withLock { $0.sessionID = sessionID }
            return .empty
        }
        let span = tracer.startSpan("river.session", context: .topLevel, ofKind: .internal)
        span.updateAttributes { attributes in
            attributes["component"] = "river"
            attributes["river.session.id"] = sessionID
            attributes["river.session.to"] = serverID
            attributes["river.session.from"] = clientID
        }
        let previous = state.withLock { state in
            defer {
                state.sessionID = sessionID
                state.sessionSpan = span
            }
            return state.sessionSpan
        }
        previous?.end()
        guard let instrument = instruments.instrument else { return .empty }
        return TracingContext(context: span.context, instrument: instrument)
    }

    private func connectionStarted(attempt: Int) {
        guard let tracer = instruments.tracer else { return }
        let session = state.withLock { $0.sessionSpan }
        let span = tracer.startSpan("river.connection", context: session?.context ?? .topLevel, ofKind: .internal)
        span.updateAttributes { attributes in
            attributes["component"] = "river"
            attributes["river.connection.id"] = "conn-\(attempt)"
        }
        if let session { span.addLink(SpanLink(context: session.context, attributes: [:])) }
        let previous = state.withLock { state in
            defer { state.connectionSpan = span }
            return state.connectionSpan
        }
        previous?.end()
    }

    private func protocolError(_ error: ProtocolErrorEvent) {
        var metadata: Logger.Metadata = [RiverLogMetadataKey.errorMessage: "\(error.message)"]
        if case .handshakeFailed(let code) = error.kind {
            let label = Self.handshakeLabel(code)
            metadata[RiverLogMetadataKey.errorCode] = "\(label)"
            if let factory = metrics?.factory {
                Counter(
                    label: RiverMetricLabel.handshakeFailures,
                    dimensions: [(RiverMetricLabel.Dimension.server, serverID), (RiverMetricLabel.Dimension.handshakeCode, label)],
                    factory: factory
                ).increment()
            }
            if let span = state.withLock({ $0.connectionSpan }) {
                span.recordError(RiverError(code: .init(rawValue: label), message: error.message))
                span.setStatus(SpanStatus(code: .error, message: error.message))
            }
        } else {
            metadata[RiverLogMetadataKey.errorCode] = "\(error.kind)"
        }
        log(.warning, "river protocol error", sessionID: nil, metadata)
    }

    private static let knownHandshakeCodes: Set<HandshakeErrorCode> = [
        .sessionStateMismatch, .malformedHandshake, .malformedHandshakeMeta, .protocolVersionMismatch,
        .rejectedByCustomHandler, .rejectedUnsupportedClient,
    ]

    /// A bounded label for a handshake failure: a known code, `MALFORMED`, or `OTHER`.
    static func handshakeLabel(_ code: HandshakeErrorCode?) -> String {
        guard let code else { return "MALFORMED" }
        return knownHandshakeCodes.contains(code) ? code.rawValue : "OTHER"
    }

    private func log(_ level: Logger.Level, _ message: Logger.Message, sessionID: String?, _ extra: Logger.Metadata) {
        let logger = instruments.logger
        guard logger.logLevel <= level else { return }
        var metadata = extra
        metadata[RiverLogMetadataKey.serverID] = "\(serverID)"
        if let session = sessionID ?? state.withLock({ $0.sessionID }) {
            metadata[RiverLogMetadataKey.sessionID] = "\(session)"
        }
        logger.log(level: level, message, metadata: metadata)
    }
}

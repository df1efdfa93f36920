package import CoreMetrics
package import Logging
package import Tracing

/// Where a client reports: its tracer, metrics factory and logger, resolved once when the
/// client is created.
///
/// With nothing bootstrapped the tracer is `nil` (no span is started, nothing is injected)
/// and so is the metrics factory (no metric is created or updated): the cost of observability
/// is then one check per call.
package final class RiverInstruments: Sendable {
    /// The tracer spans start from; `nil` when none is installed.
    package let tracer: (any Tracer)?
    /// The instrument that writes trace context into messages (the tracer itself when one was
    /// passed in, otherwise the installed instrument, which may carry more than the tracer).
    package let instrument: (any Instrument)?
    /// The metrics factory; `nil` when none is bootstrapped.
    package let metrics: (any MetricsFactory)?
    /// The client's logger.
    package let logger: Logger

    /// Resolves the instruments: the ones passed in, else the bootstrapped ones (a `withTracer`
    /// or `withMetricsFactory` scope around the client's creation counts as bootstrapped).
    package init(tracer: (any Tracer)?, metrics: (any MetricsFactory)?, logger: Logger) {
        let chosen = tracer ?? InstrumentationSystem.tracer
        if chosen is NoOpTracer {
            self.tracer = nil
            self.instrument = nil
        } else {
            self.tracer = chosen
            self.instrument = tracer == nil ? InstrumentationSystem.instrument : chosen
        }
        let factory = metrics ?? MetricsSystem.factory
        self.metrics = factory is NOOPMetricsHandler ? nil : factory
        self.logger = logger
    }
}

import CoreMetrics
import Logging
import River
import RiverTestServer
import RiverWebSocket
import ServiceLifecycle
import Tracing
import UnixSignals

/// A small daemon that calls a River server: a swift-service-lifecycle `ServiceGroup` runs the
/// River client (a `Service`) and a worker that calls through it. A console tracer and metrics
/// backend of its own are bootstrapped into swift-distributed-tracing and swift-metrics, so the
/// run prints the trace of every call (its span under the worker's, the session and connection
/// spans, the `traceparent` ids River sent) and, at the end, River's metrics.
///
///     river-daemon [ws://host:port] [--calls N]
///
/// Without a URL it serves the reference test services in-process and calls those.
@main
struct RiverDaemon {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var calls = 3
        if let flag = arguments.firstIndex(of: "--calls"), arguments.indices.contains(flag + 1) {
            guard let count = Int(arguments[flag + 1]), count > 0 else { throw UsageError() }
            calls = count
            arguments.removeSubrange(flag ... flag + 1)
        }
        let url = arguments.first

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = .info
            return handler
        }
        InstrumentationSystem.bootstrap(ConsoleTracer())
        let metrics = ConsoleMetrics()
        MetricsSystem.bootstrap(metrics)
        let logger = Logger(label: "river-daemon")

        try await run(url: url, calls: calls, logger: logger)
        metrics.printSummary()
    }

    /// Runs against `url`, or against the test services served in-process when it is `nil`.
    nonisolated static func run(url: String?, calls: Int, logger: Logger) async throws {
        guard let url else {
            try await RiverTestServer.withRunningServer(configuration: .init(codec: JSONCodec())) { _, port in
                try await run(url: "ws://127.0.0.1:\(port)", calls: calls, logger: logger)
            }
            return
        }
        try await run(url: url, calls: calls, logger: logger)
    }

    /// Runs the client and the worker as one service group until the worker is done.
    nonisolated static func run(url: String, calls: Int, logger: Logger) async throws {
        let configuration = RiverClient.Configuration(
            codec: JSONCodec(),
            interceptors: [
                DeadlineInterceptor(default: .seconds(5)),
                RetryInterceptor(retrying: [CallWorker.add.descriptor]),
            ])
        let client = RiverClient(connector: try WebSocketConnector(url: url), configuration: configuration, logger: logger)
        let worker = CallWorker(client: client, calls: calls, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: client),
                    .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

/// A malformed command line.
struct UsageError: Error, CustomStringConvertible {
    var description: String { "usage: river-daemon [ws://host:port] [--calls N]  (N a positive number)" }
}

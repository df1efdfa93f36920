public import Logging
import Synchronization

/// Logs every call an application makes: one line when it starts and one when it ends (with
/// how it ended, the number of results and the duration), and optionally each payload.
///
/// The client's own log lines (see ``RiverLogMetadataKey``) are for diagnosing River at debug
/// level; this interceptor is an application's access log, at the level it chooses, into its
/// own logger. Payloads may hold secrets: they are logged only with `logsPayloads`.
public struct LoggingInterceptor: RiverClientInterceptor {
    /// Where the lines go.
    public var logger: Logger
    /// The level of the start and end lines. Default info.
    public var level: Logger.Level
    /// The level of the end line of a call that threw. Default warning.
    public var failureLevel: Logger.Level
    /// Whether to log the init payload, each request and each result (at debug).
    public var logsPayloads: Bool

    /// Creates the interceptor.
    public init(logger: Logger, level: Logger.Level = .info, failureLevel: Logger.Level = .warning, logsPayloads: Bool = false) {
        self.logger = logger
        self.level = level
        self.failureLevel = failureLevel
        self.logsPayloads = logsPayloads
    }

    /// Logs the call's start, its payloads when asked, and its end.
    public func intercept<Value: Sendable>(
        request: RiverClientRequest,
        context: RiverClientContext,
        next: (RiverClientRequest, RiverClientContext) async throws -> Value
    ) async throws -> Value {
        var metadata: Logger.Metadata = [
            RiverLogMetadataKey.procedure: "\(context.descriptor.fullName)",
            RiverLogMetadataKey.methodKind: "\(context.descriptor.kind.rawValue)",
        ]
        if logsPayloads { metadata["river.payload"] = "\(request.initPayload)" }
        logger.log(level: level, "river call", metadata: metadata)
        metadata["river.payload"] = nil

        let tally = Mutex(Tally())
        var request = request
        let logger = logger
        let logsPayloads = logsPayloads
        let callMetadata = metadata
        request.transformInputs { input in
            if logsPayloads { logger.debug("river call request", metadata: callMetadata.merging(["river.payload": "\(input)"]) { $1 }) }
            return input
        }
        request.transformResults { result in
            tally.withLock { $0.count(result) }
            if logsPayloads { logger.debug("river call result", metadata: callMetadata.merging(["river.payload": "\(result)"]) { $1 }) }
            return result
        }

        let start = ContinuousClock.now
        func ending(_ result: String) -> Logger.Metadata {
            let elapsed = ContinuousClock.now - start
            let milliseconds = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
            var metadata = metadata
            let counts = tally.withLock { $0 }
            metadata[RiverLogMetadataKey.result] = "\(result)"
            metadata["river.results"] = "\(counts.results)"
            if let code = counts.lastServiceError { metadata["river.service_error"] = "\(code)" }
            metadata[RiverLogMetadataKey.durationMilliseconds] = "\(milliseconds)"
            return metadata
        }
        do {
            let value = try await next(request, context)
            logger.log(level: level, "river call finished", metadata: ending("OK"))
            return value
        } catch {
            var metadata = ending(error.riverCodeAndMessage.code)
            metadata[RiverLogMetadataKey.errorMessage] = "\(error.riverCodeAndMessage.message)"
            logger.log(level: failureLevel, "river call failed", metadata: metadata)
            throw error
        }
    }

    /// What the results of one call were.
    private struct Tally {
        var results = 0
        var lastServiceError: String?

        mutating func count(_ result: ResultEnvelope) {
            results += 1
            if case .error(let payload) = result { lastServiceError = payload.code }
        }
    }
}

import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import River
import RiverWebSocket

/// How a call's body ended when it did not throw.
struct CallOutcome: Sendable {
    /// How many results were service errors.
    var serviceErrors = 0
}

/// Runs one call against a server: builds the client, watches its events and SIGINT/SIGTERM,
/// and turns the outcome into an exit status.
///
/// The call runs as a child task racing the signal watcher; a signal cancels it, which sends
/// CANCEL. The client is then closed and its connection given time to flush before the
/// process exits.
struct CallRunner {
    /// The server URL.
    var url: String
    /// The shared options.
    var options: ConnectionOptions
    /// The handshake metadata.
    var metadata: RiverValue?

    /// Runs `body`, returning normally for exit status 0.
    /// - Throws: `ExitCode` for every other status, after printing the reason on stderr.
    func run(_ body: @escaping @Sendable (RiverClient, CallOptions) async throws -> CallOutcome) async throws {
        let connectorConfiguration: WebSocketConnector.Configuration
        do {
            connectorConfiguration = try options.connectorConfiguration()
        } catch {
            throw error.report()
        }
        var withLogger = connectorConfiguration
        if options.verbose {
            var logger = Logger(label: "river.websocket", factory: { StreamLogHandler.standardError(label: $0) })
            logger.logLevel = .debug
            withLogger.logger = logger
        }
        let webSocket: WebSocketConnector
        do {
            webSocket = try WebSocketConnector(url: url, configuration: withLogger)
        } catch {
            throw CallFailure(url: url, summary: EventLog.Summary(), lastConnectError: nil).connectFailure(error)
        }
        let connector = TrackingConnector(webSocket)
        let metadata = self.metadata
        var configuration = RiverClient.Configuration(
            serverID: options.serverID, codec: options.wireCodec,
            isFatalConnectionError: { connector.isFatal($0) })
        if let clientID = options.clientID { configuration.clientID = clientID }
        options.applyTimings(to: &configuration.session)
        if let metadata { configuration.handshakeMetadata = { metadata } }
        let client = RiverClient(
            connector: connector, configuration: configuration,
            logger: Logger(label: "river", factory: { _ in SwiftLogNoOpLogHandler() }))
        let log = EventLog(verbose: options.verbose, endpoint: url)
        let events = client.events()
        let signals = SignalWatcher()
        let callOptions = options.callOptions

        let (result, signal) = await withDiscardingTaskGroup(returning: (Result<CallOutcome, any Error>, Int32?).self) { group in
            group.addTask { await connector.run(closeGrace: options.closeGrace) }
            group.addTask { try? await client.run() }
            group.addTask { await log.consume(events) }
            let raced = await Self.race(signals: signals) { try await body(client, callOptions) }
            client.close()
            connector.finish()
            return raced
        }
        // Every child ended: the events are all recorded and the connection has closed.
        switch result {
        case .success(let outcome) where signal == nil:
            if outcome.serviceErrors > 0 { throw ExitCode(CLIError.Code.serviceError.exitStatus) }
        case .success:
            throw interrupted(by: signal).report()
        case .failure(let error):
            if signal != nil { throw interrupted(by: signal).report() }
            let failure = CallFailure(url: url, summary: log.summary, lastConnectError: connector.lastError)
            throw failure.classify(error).report()
        }
    }

    /// Runs `call` until it ends; a signal arriving first cancels it (the call still runs to
    /// its end, which sends CANCEL).
    static func race(
        signals: SignalWatcher, _ call: @escaping @Sendable () async throws -> CallOutcome
    ) async -> (Result<CallOutcome, any Error>, Int32?) {
        enum Event: Sendable {
            case finished(Result<CallOutcome, any Error>)
            case signal(Int32?)
        }
        return await withTaskGroup(of: Event.self) { group in
            group.addTask {
                do {
                    return .finished(.success(try await call()))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask { .signal(await signals.next()) }
            var received: Int32?
            while let event = await group.next() {
                switch event {
                case .finished(let result):
                    group.cancelAll()
                    return (result, received)
                case .signal(let number?):
                    received = number
                    group.cancelAll()
                case .signal(nil):
                    continue
                }
            }
            return (.failure(CLIError(.internalError, "the call task vanished")), received)
        }
    }

    private func interrupted(by signal: Int32?) -> CLIError {
        let name = signal.map(SignalWatcher.name) ?? "a signal"
        #if canImport(Glibc)
        let code: CLIError.Code = signal == SIGTERM ? .terminated : .interrupted
        #else
        let code: CLIError.Code = .interrupted
        #endif
        return CLIError(code, "cancelled by \(name)")
    }
}

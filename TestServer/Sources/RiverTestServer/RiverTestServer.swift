public import Logging
public import River
import Synchronization

/// A River v2 server that serves the reference test services, for the client's live
/// integration tests, benchmarks and `river demo`.
///
/// It behaves like the official TypeScript server running the python-client branch's
/// `tests/test_server.ts`: the same handshake rules, session bookkeeping, heartbeats, stream
/// lifecycle and error messages. Feed it connections with ``serve(connection:)`` (for example
/// the server ends of ``InMemoryConnection`` pairs), or listen on a WebSocket port with
/// ``run(host:port:onListening:)``. Fault injection (``dropAllConnections()``,
/// ``setBlackholed(_:)``, ``restart()``, …) imitates what networks and restarts do.
///
/// ```swift
/// try await RiverTestServer.withRunningServer(configuration: .init(codec: JSONCodec())) { server, port in
///     // connect a client to ws://127.0.0.1:\(port)
/// }
/// ```
public final class RiverTestServer: Sendable {
    /// Which services and handshake rules the server uses.
    @frozen
    public enum Mode: Sendable, Hashable {
        /// Server id `SERVER`, the six reference services, handshake metadata ignored.
        case standard
        /// Server id `HANDSHAKE_SERVER`, only rpc `test.echo`, metadata `{token}` required and
        /// only `"valid-token"` accepted.
        case handshake
        /// Server id `SERVER`, protobuf service `river.test.TestService` (use `ProtoCodec`),
        /// handshake metadata ignored. See `ServerCore+Protobuf.swift`.
        case protobuf
        /// Like ``protobuf``, with protobuf handshake metadata `river.test.AuthHandshake`
        /// required: only token `"let-me-in"` is accepted.
        case protobufHandshake
    }

    /// Timings of the transport; the defaults are the reference's.
    public struct Timings: Sendable, Hashable {
        /// How often the server sends a heartbeat (default 1000 ms).
        public var heartbeatInterval: Duration
        /// How many intervals without a valid message close the connection (default 2).
        public var heartbeatsUntilDead: Int
        /// How long a disconnected session is kept for a transparent reconnect (default 5000 ms).
        public var sessionDisconnectGrace: Duration
        /// How long a new connection may take to send its handshake, and a client to answer a
        /// rehandshake request (default 1000 ms).
        public var handshakeTimeout: Duration

        /// Creates timings; every parameter defaults to the reference value.
        public init(
            heartbeatInterval: Duration = .milliseconds(1000),
            heartbeatsUntilDead: Int = 2,
            sessionDisconnectGrace: Duration = .milliseconds(5000),
            handshakeTimeout: Duration = .milliseconds(1000)
        ) {
            self.heartbeatInterval = heartbeatInterval
            self.heartbeatsUntilDead = heartbeatsUntilDead
            self.sessionDisconnectGrace = sessionDisconnectGrace
            self.handshakeTimeout = handshakeTimeout
        }

        /// The reference server's defaults.
        public static let defaults = Timings()
    }

    /// How the server is set up.
    public struct Configuration: Sendable {
        /// The codec; it must match the clients' (River does not negotiate it).
        public var codec: any RiverCodec
        /// Standard or handshake mode.
        public var mode: Mode
        /// The server's id (`SERVER`, or `HANDSHAKE_SERVER` in handshake mode, unless set).
        public var serverID: String
        /// Transport timings.
        public var timings: Timings
        /// Inbound frames larger than this close the connection with 1009 (default 16 MiB).
        public var maxMessageSize: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - codec: The wire codec.
        ///   - mode: Standard (default) or handshake mode.
        ///   - serverID: Overrides the mode's server id.
        ///   - timings: Transport timings (reference defaults).
        ///   - maxMessageSize: Largest inbound frame accepted, in bytes.
        public init(
            codec: any RiverCodec,
            mode: Mode = .standard,
            serverID: String? = nil,
            timings: Timings = .defaults,
            maxMessageSize: Int = 16 * 1024 * 1024
        ) {
            self.codec = codec
            self.mode = mode
            self.serverID = serverID ?? (mode == .handshake ? RiverTestServer.handshakeServerID : RiverTestServer.standardServerID)
            self.timings = timings
            self.maxMessageSize = maxMessageSize
        }
    }

    /// `SERVER`: the id of the standard-mode server.
    public static let standardServerID = "SERVER"
    /// `HANDSHAKE_SERVER`: the id of the handshake-mode server.
    public static let handshakeServerID = "HANDSHAKE_SERVER"
    /// The only handshake token the handshake-mode server accepts.
    public static let validToken = "valid-token"

    /// The configuration the server was created with (timings may since have changed, see
    /// ``timings``).
    public let configuration: Configuration
    let logger: Logger
    let core: Mutex<ServerCore>

    /// A logger that discards everything: the default, so tests stay quiet.
    public static let silentLogger = Logger(label: "river.test-server", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A logger through the process-wide logging backend (swift-log's default writes to
    /// stderr), at info level: what the `river-test-server` executable uses.
    public static var consoleLogger: Logger { Logger(label: "river.test-server") }

    /// Creates a server. It serves nothing until given connections.
    /// - Parameters:
    ///   - configuration: Codec, mode and timings.
    ///   - logger: Where the server logs (info and below); silent by default.
    public init(configuration: Configuration, logger: Logger = RiverTestServer.silentLogger) {
        self.configuration = configuration
        self.logger = logger
        self.core = Mutex(ServerCore(configuration: configuration, logger: logger))
    }

    /// The server's id as it appears in `from` of its messages.
    public var serverID: String { configuration.serverID }

    /// The timings in force (see ``setTimings(_:)``).
    public var timings: Timings { core.withLock { $0.timings } }

    /// Serves one connection until it closes, then keeps its session for the grace period.
    ///
    /// Returns when the connection has closed and, if it carried a session, that session's
    /// grace period has elapsed (or the task is cancelled). Handles the handshake, the session,
    /// heartbeats, the watchdog and every stream of the connection.
    /// - Parameter connection: A freshly opened connection (nothing read from it yet).
    public func serve(connection: any RiverConnection) async {
        let (outbound, outboundContinuation) = AsyncStream.makeStream(of: Outbound.self, bufferingPolicy: .unbounded)
        let (commands, commandContinuation) = AsyncStream.makeStream(of: ConnectionCommand.self, bufferingPolicy: .unbounded)
        let handshakeTimeout = core.withLock { $0.timings.handshakeTimeout }
        let id = core.withLock {
            $0.register(connection, outbound: outboundContinuation, commands: commandContinuation, now: .now)
        }
        let ticket: GraceTicket? = await withDiscardingTaskGroup { group in
            group.addTask { await self.writeLoop(outbound, to: connection, id: id) }
            group.addTask { await self.timerLoop(commands, connection: id) }
            group.addTask {
                guard (try? await Task.sleep(for: handshakeTimeout)) != nil else { return }
                self.core.withLock { $0.handshakeTimedOut(id) }
            }
            await receive(from: connection, id: id)
            let ticket = core.withLock { $0.connectionClosed(id) }
            group.cancelAll()
            return ticket
        }
        guard let ticket else { return }
        guard (try? await Task.sleep(for: ticket.grace)) != nil else { return }
        core.withLock { $0.graceElapsed(ticket) }
    }

    /// Feeds the connection's frames to the core; returns when it closed (or on cancellation).
    private func receive(from connection: any RiverConnection, id: ConnectionID) async {
        // Connections that call back on their I/O thread save a hop through this task.
        let closed = OneShotSignal()
        let dispatcher = ConnectionEventDispatcher(
            label: "river.test-server.inbound",
            pauseReceiving: { [weak connection] paused in
                (connection as? any RiverFastPathConnection)?.setReceivingPaused(paused)
            }
        ) { [self] event in
            let open = handle(event, on: id)
            if !open { closed.raise() }
        }
        if let direct = connection as? any RiverFastPathConnection, direct.deliverEvents(to: dispatcher.dispatch) {
            await closed.wait()
            return
        }
        for await event in connection.events where !handle(event, on: id) { return }
    }

    /// One event of connection `id`; `false` once it closed.
    private func handle(_ event: RiverConnectionEvent, on id: ConnectionID) -> Bool {
        switch event {
        case .message(let bytes):
            core.withLock { $0.receive(bytes, on: id, now: .now) }
        case .textMessage:
            core.withLock { $0.receiveText(on: id) }
        case .closed:
            return false
        }
        return true
    }

    /// Sends queued frames in order, honouring the delay and blackhole faults.
    private func writeLoop(_ outbound: AsyncStream<Outbound>, to connection: any RiverConnection, id: ConnectionID) async {
        for await item in outbound {
            switch item {
            case .frame(let bytes, let due):
                if let due { guard (try? await Task.sleep(until: due)) != nil else { return } }
                core.withLock { core in
                    if !core.faults.blackholed { connection.sendFrame(bytes) }
                    core.connections[id]?.queuedFrames -= 1
                }
            case .close(let code, let due):
                if let due { guard (try? await Task.sleep(until: due)) != nil else { return } }
                if core.withLock({ $0.faults.blackholed }) { continue }
                connection.close(code: code, reason: "")
            }
        }
    }

    /// Runs the per-connection timers: heartbeats and watchdog once the handshake succeeded,
    /// and rehandshake deadlines.
    private func timerLoop(_ commands: AsyncStream<ConnectionCommand>, connection id: ConnectionID) async {
        await withDiscardingTaskGroup { group in
            for await command in commands {
                switch command {
                case .startSessionTimers:
                    group.addTask { await self.heartbeatLoop(id) }
                    group.addTask { await self.watchdogLoop(id) }
                case .rehandshakeDeadline(let deadline, let token):
                    group.addTask {
                        guard (try? await Task.sleep(until: deadline)) != nil else { return }
                        self.core.withLock { $0.rehandshakeDeadlineElapsed(token: token) }
                    }
                }
            }
            group.cancelAll()
        }
    }

    private func heartbeatLoop(_ id: ConnectionID) async {
        var next = ContinuousClock.now
        while true {
            let interval = core.withLock { $0.timings.heartbeatInterval }
            next = next.advanced(by: interval)
            // Like `setInterval`: a late tick does not cause a burst of catch-up heartbeats.
            if next < .now { next = ContinuousClock.now.advanced(by: interval) }
            guard (try? await Task.sleep(until: next)) != nil else { return }
            guard core.withLock({ $0.heartbeatTick(id) }) else { return }
        }
    }

    private func watchdogLoop(_ id: ConnectionID) async {
        while true {
            guard let deadline = core.withLock({ $0.watchdogDeadline(id) }) else { return }
            guard (try? await Task.sleep(until: deadline)) != nil else { return }
            if core.withLock({ $0.watchdogCheck(id, now: .now) }) { return }
        }
    }

    /// Serves every connection of `connections` concurrently until the sequence ends or the
    /// task is cancelled; returns once every connection's ``serve(connection:)`` returned.
    /// - Parameter connections: Accepted connections, for example a listener's stream.
    public func serve<Connections: AsyncSequence & Sendable>(connections: Connections) async
    where Connections.Element == any RiverConnection {
        await withDiscardingTaskGroup { group in
            do {
                for try await connection in connections {
                    group.addTask { await self.serve(connection: connection) }
                }
            } catch {
                logger.warning("connection source failed", metadata: ["river.error": "\(error)"])
            }
            group.cancelAll()
        }
    }

    // MARK: Schema

    /// River's serialized schema of the mode's services (`serializeSchema(services,
    /// handshakeSchema)` upstream): `{services, handshakeSchema}`.
    public func serializedSchema() -> RiverValue {
        ServiceCatalog.serializedSchema(ServiceCatalog.procedures(for: configuration.mode))
    }

    // MARK: Introspection

    /// How many connections are open (handshaking or established).
    public var connectionCount: Int { core.withLock { $0.connections.count } }

    /// How many sessions exist (connected or within their grace period).
    public var sessionCount: Int { core.withLock { $0.sessions.count } }

    /// How many procedure streams are open.
    public var openStreamCount: Int { core.withLock { $0.streams.count } }

    /// The W3C trace context (`tracing` field) of the last stream-open message that carried a
    /// non-empty `traceparent`, for tests of trace propagation.
    public var lastTraceContext: TracingContext? { core.withLock { $0.lastTraceContext } }
}

import River
import Logging
import Synchronization

/// Fault injection: what networks, restarts and impatient servers do to a client.
///
/// Every fault works above the connection, so it applies alike to WebSocket and in-memory
/// connections. The same operations are reachable as text commands (``execute(command:)``),
/// which the `river-test-server` executable reads from stdin.
extension RiverTestServer {
    /// Drops every open connection abruptly (no close frame). Sessions survive and may resume
    /// within the grace period, exactly as after a network cut.
    /// - Returns: How many connections were dropped.
    @discardableResult
    public func dropAllConnections() -> Int {
        let all = core.withLock { $0.allConnections() }
        for connection in all { connection.abort() }
        logger.info("fault: dropped connections", metadata: ["river.count": "\(all.count)"])
        return all.count
    }

    /// Blackholes the server (or ends it): while on, sockets stay open but nothing is read
    /// (inbound frames are discarded) and nothing is written (outbound frames, including
    /// heartbeats and close frames, are discarded after being sequenced and buffered, so a
    /// later reconnect replays them). The watchdog does not fire while blackholed.
    /// - Parameter on: Whether to blackhole.
    public func setBlackholed(_ on: Bool) {
        core.withLock { core in
            core.faults.blackholed = on
            if !on {
                // Give every connection a full watchdog period after the blackhole lifts.
                for record in core.connections.values { record.lastValidInbound = .now }
            }
        }
        logger.info("fault: blackhole", metadata: ["river.on": "\(on)"])
    }

    /// Whether the server is blackholed.
    public var isBlackholed: Bool { core.withLock { $0.faults.blackholed } }

    /// How many inbound frames the server has discarded while blackholed (since it started).
    public var discardedInboundFrameCount: Int { core.withLock { $0.faults.discardedInboundFrames } }

    /// Restarts the server like a fresh process: every connection is dropped and every
    /// session, stream and service value (running totals, subscriptions) is forgotten. The
    /// server keeps accepting connections; a client resuming an old session now gets
    /// `SESSION_STATE_MISMATCH`.
    public func restart() {
        let all = core.withLock { $0.restart() }
        for connection in all { connection.abort() }
        logger.info("fault: restart", metadata: ["river.dropped": "\(all.count)"])
    }

    /// Stops (or resumes) sending heartbeats. The watchdog still runs.
    /// - Parameter enabled: Whether heartbeats are sent.
    public func setHeartbeatsEnabled(_ enabled: Bool) {
        core.withLock { $0.faults.heartbeatsEnabled = enabled }
        logger.info("fault: heartbeats", metadata: ["river.enabled": "\(enabled)"])
    }

    /// Whether heartbeats are being sent.
    public var heartbeatsEnabled: Bool { core.withLock { $0.faults.heartbeatsEnabled } }

    /// Delays every outgoing frame (and close) queued from now on by `delay`; order is kept.
    /// - Parameter delay: The delay, or `nil` (or zero) for none.
    public func setOutgoingDelay(_ delay: Duration?) {
        let effective = delay.flatMap { $0 > .zero ? $0 : nil }
        core.withLock { $0.faults.outgoingDelay = effective }
        logger.info("fault: outgoing delay", metadata: ["river.delay": "\(effective.map { "\($0)" } ?? "none")"])
    }

    /// Sends `REHANDSHAKE_REQ` on every connected session. A session whose client does not
    /// answer with valid metadata within the handshake timeout is destroyed. In standard mode
    /// any well-formed `REHANDSHAKE_RESP` is accepted; in handshake mode its metadata must
    /// carry the valid token.
    /// - Returns: How many sessions were asked.
    @discardableResult
    public func requestRehandshake() -> Int {
        let count = core.withLock { $0.requestRehandshake(now: .now) }
        logger.info("fault: rehandshake requested", metadata: ["river.sessions": "\(count)"])
        return count
    }

    /// Replaces the transport timings. Heartbeat interval and watchdog changes take effect at
    /// the next tick; the grace period and handshake timeout apply to later disconnects and
    /// connections.
    /// - Parameter timings: The new timings.
    public func setTimings(_ timings: Timings) {
        core.withLock { $0.timings = timings }
    }

    /// Runs one fault-injection command, as the executable reads them from stdin:
    /// `drop`, `blackhole`, `unblackhole`, `restart`, `heartbeats off|on`, `delay <ms>`,
    /// `rehandshake`, `status`.
    /// - Parameter line: The command line (surrounding whitespace is ignored).
    /// - Returns: A one-line reply: `ok …` or `error: …`.
    @discardableResult
    public func execute(command line: String) -> String {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first?.lowercased() else { return "error: empty command" }
        switch (verb, words.count) {
        case ("drop", 1):
            return "ok dropped \(dropAllConnections())"
        case ("blackhole", 1):
            setBlackholed(true)
            return "ok blackholed"
        case ("unblackhole", 1):
            setBlackholed(false)
            return "ok unblackholed"
        case ("restart", 1):
            restart()
            return "ok restarted"
        case ("heartbeats", 2) where ["on", "off"].contains(words[1].lowercased()):
            let on = words[1].lowercased() == "on"
            setHeartbeatsEnabled(on)
            return "ok heartbeats \(on ? "on" : "off")"
        case ("delay", 2):
            guard let ms = Int(words[1]), ms >= 0 else { return "error: delay takes a number of milliseconds" }
            setOutgoingDelay(ms == 0 ? nil : .milliseconds(ms))
            return "ok delay \(ms)"
        case ("rehandshake", 1):
            return "ok rehandshake \(requestRehandshake())"
        case ("status", 1):
            return "ok connections=\(connectionCount) sessions=\(sessionCount) streams=\(openStreamCount) "
                + "blackholed=\(isBlackholed) heartbeats=\(heartbeatsEnabled ? "on" : "off")"
        default:
            return "error: unknown command '\(line)' (\(Self.faultCommandSummary))"
        }
    }
}

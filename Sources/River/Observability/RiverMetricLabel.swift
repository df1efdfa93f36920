/// The names and dimensions of the metrics a ``RiverClient`` reports through swift-metrics.
///
/// Every dimension takes a bounded set of values: procedure names come from the descriptors
/// the application calls, server ids from its configuration, result and handshake codes from
/// fixed lists (anything else is `OTHER`). No ids (session, stream, client) are labels.
public enum RiverMetricLabel {
    /// Counter: calls opened. Dimensions: ``Dimension/procedure``, ``Dimension/kind``.
    public static let callsStarted = "river.client.calls.started"
    /// Counter: calls ended. Dimensions: ``Dimension/procedure``, ``Dimension/kind``,
    /// ``Dimension/result`` (`OK`, `SERVICE_ERROR`, a ``RiverError/Code``, or `OTHER`).
    public static let callsFinished = "river.client.calls.finished"
    /// Timer: from opening a call to its end. Dimensions: ``Dimension/procedure``, ``Dimension/kind``.
    public static let callDuration = "river.client.call.duration"
    /// Counter: connection attempts (dials). Dimension: ``Dimension/server``.
    public static let connectionAttempts = "river.client.connection.attempts"
    /// Counter: transparent reconnects (a session resumed on a new connection). Dimension: ``Dimension/server``.
    public static let reconnects = "river.client.reconnects"
    /// Counter: sessions created. Dimension: ``Dimension/server``.
    public static let sessionsCreated = "river.client.sessions.created"
    /// Counter: sessions destroyed (grace expired, server restarted, closed). Dimension: ``Dimension/server``.
    public static let sessionsDestroyed = "river.client.sessions.destroyed"
    /// Counter: failed handshakes. Dimensions: ``Dimension/server``, ``Dimension/handshakeCode``.
    public static let handshakeFailures = "river.client.handshake.failures"
    /// Gauge: messages in the session's send buffer (sent, not yet acknowledged). Dimension: ``Dimension/server``.
    public static let sendBufferMessages = "river.client.send_buffer.messages"
    /// Gauge: bytes in the session's send buffer. Dimension: ``Dimension/server``.
    public static let sendBufferBytes = "river.client.send_buffer.bytes"
    /// Gauge: the connection's state: 0 no connection, 1 connecting (dialing or handshaking),
    /// 2 connected. Dimension: ``Dimension/server``.
    public static let connectionState = "river.client.connection.state"

    /// The dimension names.
    public enum Dimension {
        /// `service.procedure`.
        public static let procedure = "river.procedure"
        /// `rpc`, `upload`, `subscription` or `stream`.
        public static let kind = "river.method.kind"
        /// How a call ended.
        public static let result = "river.result"
        /// The server id.
        public static let server = "river.server.id"
        /// The handshake error code: one of ``HandshakeErrorCode``'s known codes, `MALFORMED`
        /// for an unreadable reply, or `OTHER`.
        public static let handshakeCode = "river.handshake.code"
    }
}

/// The dotted metadata keys of River's log lines, for filters and log queries.
///
/// Every line the client logs carries the keys that identify what it is about: a call's lines
/// carry ``procedure``, ``methodKind``, ``streamID`` and ``sessionID``; connection and session
/// lines carry ``serverID`` and ``sessionID``, and ``reason`` when something ended.
public enum RiverLogMetadataKey {
    /// The session's id (`session-…`).
    public static let sessionID = "river.session.id"
    /// The call's stream id.
    public static let streamID = "river.stream.id"
    /// `service.procedure`.
    public static let procedure = "river.procedure"
    /// The procedure kind: `rpc`, `upload`, `subscription` or `stream`.
    public static let methodKind = "river.method.kind"
    /// The server's id (the `to` of the client's messages).
    public static let serverID = "river.server.id"
    /// A connection attempt's number (1 for a session's first, counting on across sessions).
    public static let connectionAttempt = "river.connection.attempt"
    /// Why a connection or session ended.
    public static let reason = "river.reason"
    /// How a call ended: `OK`, `SERVICE_ERROR`, or the error's code.
    public static let result = "river.result"
    /// An error's code.
    public static let errorCode = "river.error.code"
    /// An error's message.
    public static let errorMessage = "river.error.message"
    /// A call's duration in milliseconds.
    public static let durationMilliseconds = "river.duration_ms"
    /// How many buffered messages a resumed session sent again.
    public static let replayed = "river.replayed"
}

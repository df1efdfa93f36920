/// W3C trace context carried by stream-open and handshake messages.
public struct TracingContext: Sendable, Hashable {
    /// The `traceparent` header value; empty when no tracer is active.
    public var traceparent: String
    /// The `tracestate` header value; empty when no tracer is active.
    public var tracestate: String

    /// Creates a trace context.
    public init(traceparent: String = "", tracestate: String = "") {
        self.traceparent = traceparent
        self.tracestate = tracestate
    }

    /// The context the reference client sends when no tracer is registered: both empty.
    public static let empty = TracingContext()
}

/// One River protocol message: exactly one WebSocket binary frame on the wire.
///
/// Every field of River v2 is here. The optional ones (`serviceName`, `procedureName`,
/// `tracing`) are left out of the encoded frame when `nil`, never written as `null`.
public struct TransportMessage: Sendable, Hashable {
    /// Unique id of this message (12 characters, see ``RiverID``).
    public var id: String
    /// The sender's client or server id.
    public var from: String
    /// The receiver's client or server id.
    public var to: String
    /// The sender's sequence number for this message (0 for handshake frames).
    public var seq: Int
    /// The next sequence number the sender expects from the receiver.
    public var ack: Int
    /// The stream this message belongs to; `heartbeat` and `rehandshake` are reserved.
    public var streamId: String
    /// Control bits (open, closed, cancel, ack).
    public var controlFlags: ControlFlags
    /// The payload: user data, a result envelope or a control payload.
    public var payload: RiverValue
    /// The service to call; only on the stream-open message.
    public var serviceName: String?
    /// The procedure to call; only on the stream-open message.
    public var procedureName: String?
    /// Trace context; only on stream-open and handshake messages from the client.
    public var tracing: TracingContext?

    /// Creates a message with every field given explicitly.
    public init(
        id: String,
        from: String,
        to: String,
        seq: Int,
        ack: Int,
        streamId: String,
        controlFlags: ControlFlags,
        payload: RiverValue,
        serviceName: String? = nil,
        procedureName: String? = nil,
        tracing: TracingContext? = nil
    ) {
        self.id = id
        self.from = from
        self.to = to
        self.seq = seq
        self.ack = ack
        self.streamId = streamId
        self.controlFlags = controlFlags
        self.payload = payload
        self.serviceName = serviceName
        self.procedureName = procedureName
        self.tracing = tracing
    }
}

extension TransportMessage {
    /// The stream id reserved for heartbeats.
    public static let heartbeatStreamID = "heartbeat"
    /// The stream id reserved for rehandshake requests and responses.
    public static let rehandshakeStreamID = "rehandshake"
}

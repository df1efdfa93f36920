/// One live bidirectional byte-message connection to a River peer (a WebSocket, or an
/// in-memory pipe in tests).
///
/// A connection never reconnects; the session layer above it does. Implementations must be
/// safe to call from any task. This is all a connection must do; connections that can save
/// the transport a thread hop or a wake-up per message also adopt
/// ``RiverFastPathConnection``.
public protocol RiverConnection: AnyObject, Sendable {
    /// Queues one message to be sent as a single binary frame. Never blocks; after the
    /// connection closed the message is discarded.
    func send(_ message: [UInt8])

    /// Inbound messages, in order, ending with exactly one ``RiverConnectionEvent/closed(_:)``.
    /// There is one consumer; iterate it once.
    var events: AsyncStream<RiverConnectionEvent> { get }

    /// Starts a clean close: already-queued messages are flushed, then a close frame with
    /// `code` and `reason` is sent. Idempotent.
    func close(code: UInt16, reason: String)

    /// Drops the connection at once: no flush and no close frame. Idempotent.
    func abort()
}

/// A ``RiverConnection`` with the hooks the client transport uses on its hot paths, when a
/// connection offers them (an opt-in refinement; the transport works without it):
///
/// * ``enqueue(_:)`` and ``flush()`` split a send in two, so the transport queues a message
///   under its lock and wakes the I/O thread (a syscall) only after releasing it;
/// * ``setReceivingPaused(_:)`` pauses reading from this peer alone (rx flow control);
/// * ``deliverEvents(to:)`` hands inbound events to the transport on the connection's own
///   I/O thread, one thread hop less per message than ``RiverConnection/events``.
public protocol RiverFastPathConnection: RiverConnection {
    /// Queues `message` exactly like ``RiverConnection/send(_:)`` (same order with other
    /// sends), but may leave waking the I/O thread to ``flush()``. The bytes usually lie in
    /// the session's send buffer: read them, and drop `message` once they are framed.
    /// - Returns: Whether the caller must call ``flush()`` once it can.
    func enqueue(_ message: RiverMessageBytes) -> Bool

    /// Wakes the I/O thread for messages queued with ``enqueue(_:)``.
    func flush()

    /// Asks the connection to hand its inbound events to `handler` directly, on the thread
    /// that reads the network, instead of through ``RiverConnection/events``.
    ///
    /// The handler is called serially, in order, with every event not yet delivered and ending
    /// with exactly one ``RiverConnectionEvent/closed(_:)``, after which it is released. It
    /// runs on the connection's I/O thread, which other connections may share: keep it short
    /// and hand slow work elsewhere. While it runs, no connection of that thread is read or
    /// written, so blocking in it is only reasonable as deliberate back-pressure.
    /// Call it at most once, instead of reading ``RiverConnection/events``.
    /// - Returns: `false` when ``RiverConnection/events`` was already taken; then read that.
    func deliverEvents(to handler: @escaping @Sendable (RiverConnectionEvent) -> Void) -> Bool

    /// ``deliverEvents(to:)`` handing each event over: the handler owns it, so a large message
    /// it lets go of once decoded is freed then, not when this connection's thread gets round
    /// to dropping a reference of its own. Call at most one of the two, once.
    /// - Returns: `false` when ``RiverConnection/events`` was already taken; then read that.
    func deliverOwnedEvents(to handler: @escaping @Sendable (consuming RiverConnectionEvent) -> Void) -> Bool

    /// Stops (`true`) or resumes (`false`) reading inbound messages from this connection only,
    /// so that a consumer that falls behind slows its own peer down (through TCP) without
    /// holding a thread other connections share. Callable from any thread, including from the
    /// handler given to ``deliverEvents(to:)``; the last call wins. Messages already read may
    /// still be delivered after a pause.
    func setReceivingPaused(_ paused: Bool)
}

extension RiverFastPathConnection {
    /// Forwards to ``deliverEvents(to:)``: the handler gets a copy of each event (a connection
    /// that can hand its events over implements this itself).
    public func deliverOwnedEvents(to handler: @escaping @Sendable (consuming RiverConnectionEvent) -> Void) -> Bool {
        deliverEvents { event in handler(event) }
    }
}

/// What a ``RiverConnection`` reports.
public enum RiverConnectionEvent: Sendable {
    /// One complete inbound message (a whole binary frame, reassembled if fragmented).
    case message([UInt8])
    /// A complete inbound text frame: River never sends these; the session treats it as a
    /// protocol violation instead of decoding it.
    case textMessage([UInt8])
    /// The connection is gone. Always the last event.
    case closed(RiverConnectionClosure)
}

/// Opens connections to one River server. The session asks it for a new connection on every
/// (re)connect attempt.
public protocol RiverConnector: Sendable {
    /// A readable name of the endpoint, for logs and errors (for example the URL).
    var endpointDescription: String { get }

    /// Opens a new connection.
    /// - Parameter timeout: How long the socket may take to open.
    /// - Throws: ``RiverConnectError`` describing why the connection could not be opened.
    func connect(timeout: Duration) async throws -> any RiverConnection
}

import DequeModule
import River

// The plain records `ServerCore` keeps under the server's mutex.

/// Identifies one accepted connection for the lifetime of the server.
typealias ConnectionID = Int

/// What a connection's writer task does next, in order.
enum Outbound: Sendable {
    /// Send one binary frame, not before `due` (the delay fault).
    case frame(RiverMessageBytes, due: ContinuousClock.Instant?)
    /// Close cleanly with `code` after the frames queued before it.
    case close(code: UInt16, due: ContinuousClock.Instant?)
}

/// Work a connection's timer task starts.
enum ConnectionCommand: Sendable {
    /// The handshake succeeded: start the heartbeat and watchdog loops.
    case startSessionTimers
    /// A rehandshake was requested; if `token` is still pending at `deadline`, drop the session.
    case rehandshakeDeadline(ContinuousClock.Instant, token: Int)
}

/// When a disconnected session may be destroyed (see ``ServerCore/graceElapsed(_:)``).
struct GraceTicket: Sendable {
    var clientID: String
    var sessionID: String
    var generation: Int
    var grace: Duration
}

/// The server's runtime knobs that fault injection may change while it runs.
struct FaultState: Sendable {
    var blackholed = false
    var heartbeatsEnabled = true
    var outgoingDelay: Duration?
    /// Inbound frames ignored because the server was blackholed.
    var discardedInboundFrames = 0
}

/// One accepted connection.
final class ConnectionRecord {
    enum Phase {
        case awaitingHandshake
        case established(clientID: String)
    }

    let connection: any RiverConnection
    let outbound: AsyncStream<Outbound>.Continuation
    let commands: AsyncStream<ConnectionCommand>.Continuation
    var phase: Phase = .awaitingHandshake
    /// Set once the server closed (or is closing) the connection.
    var closing = false
    /// Frames handed to the writer task and not yet written (they keep their order: a frame
    /// may bypass the writer task only while this is zero).
    var queuedFrames = 0
    var lastValidInbound: ContinuousClock.Instant

    init(
        connection: any RiverConnection,
        outbound: AsyncStream<Outbound>.Continuation,
        commands: AsyncStream<ConnectionCommand>.Continuation,
        now: ContinuousClock.Instant
    ) {
        self.connection = connection
        self.outbound = outbound
        self.commands = commands
        self.lastValidInbound = now
    }
}

/// One River session (keyed by the client's id, as the reference server does).
final class SessionRecord {
    struct Buffered {
        var seq: Int
        /// A large msgpack message lies in a block of `ServerCore.largeMessages`.
        var bytes: RiverMessageBytes
    }

    let id: String
    let clientID: String
    /// The seq of the next message this server sends.
    var seq = 0
    /// The next seq this server expects from the client.
    var ack = 0
    /// Every sequenced message not yet acknowledged, in seq order, as encoded bytes.
    var sendBuffer: Deque<Buffered> = []
    var connectionID: ConnectionID?
    var graceGeneration = 0
    var rehandshakeToken: Int?
    var metadata: RiverValue?

    init(id: String, clientID: String) {
        self.id = id
        self.clientID = clientID
    }

    /// The seq of the oldest unacknowledged message, else the next seq (`nextSeq()` upstream).
    var nextSeq: Int { sendBuffer.first?.seq ?? seq }
}

/// One open procedure stream and its handler's state.
final class StreamRecord {
    let id: String
    let clientID: String
    let sessionID: String
    let procedure: ProcedureDescriptor
    var readableClosed = false
    var writableClosed = false
    /// Cleared by server cancels and session loss: closing the writable then sends no CLOSE.
    var cleanClose = true
    /// Handler state: running totals of uploads, the prefix of `*WithPrefix`.
    var total: Double = 0
    var prefix = ""

    init(id: String, clientID: String, sessionID: String, procedure: ProcedureDescriptor) {
        self.id = id
        self.clientID = clientID
        self.sessionID = sessionID
        self.procedure = procedure
    }
}

/// The cancelled-stream tombstones of one client (an LRU set of 200, like the reference).
struct Tombstones {
    private var order: [String] = []
    private var members: Set<String> = []
    static let capacity = 200

    mutating func insert(_ id: String) {
        if members.contains(id) {
            order.removeAll { $0 == id }
        } else if order.count >= Self.capacity {
            members.remove(order.removeFirst())
        }
        order.append(id)
        members.insert(id)
    }

    func contains(_ id: String) -> Bool { members.contains(id) }
}

/// The state the reference test services keep (module-level variables upstream).
struct ServiceState {
    var testTotal: Double = 0
    var orderingMessages: [RiverValue] = []
    var subscriptionCount: Double = 0
    /// Stream ids of live `subscribable.value` subscriptions, in subscription order.
    var subscribers = InsertionOrderedSet<String>()
}

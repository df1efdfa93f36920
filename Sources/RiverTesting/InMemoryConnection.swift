import Synchronization
public import River

/// An in-memory ``RiverConnection``: one end of a pipe made by ``makePair()``.
///
/// Used by tests and by in-process servers. Fault hooks imitate what networks do:
/// ``drop()`` (an abrupt cut seen by both ends), ``blackhole()`` (stays open, delivers
/// nothing in either direction) and ``setDelay(_:)`` (each message is delivered late).
public final class InMemoryConnection: RiverConnection {
    private struct State {
        /// Weak: two ends referring to each other strongly would keep a pair that nobody
        /// closes alive forever. An end that goes away unclosed drops its peer (`deinit`).
        weak var peer: InMemoryConnection?
        var closed = false
        var blackholed = false
        var delay: Duration?
    }

    private let state = Mutex(State())
    private let continuation: AsyncStream<RiverConnectionEvent>.Continuation

    /// Inbound messages, then one `.closed` event.
    public let events: AsyncStream<RiverConnectionEvent>

    /// A label for debugging (`client` or `server`).
    public let label: String

    private init(label: String) {
        self.label = label
        (events, continuation) = AsyncStream.makeStream(of: RiverConnectionEvent.self, bufferingPolicy: .unbounded)
    }

    deinit {
        let peer = state.withLock { $0.closed ? nil : $0.peer }
        _ = peer?.finish(RiverConnectionClosure(code: nil, reason: "connection dropped", initiatedLocally: false))
        continuation.finish()
    }

    /// Creates two connected ends.
    public static func makePair() -> (client: InMemoryConnection, server: InMemoryConnection) {
        let client = InMemoryConnection(label: "client")
        let server = InMemoryConnection(label: "server")
        client.state.withLock { $0.peer = server }
        server.state.withLock { $0.peer = client }
        return (client, server)
    }

    /// Sends a message to the peer, unless closed or blackholed.
    public func send(_ message: [UInt8]) {
        let (peer, delay) = state.withLock { state -> (InMemoryConnection?, Duration?) in
            guard !state.closed, !state.blackholed else { return (nil, nil) }
            return (state.peer, state.delay)
        }
        guard let peer else { return }
        if let delay {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: delay)
            // The delay must not reorder messages: each delayed delivery runs in order on a
            // per-connection serial chain.
            peer.deliverLater(.message(message), at: deadline)
        } else {
            peer.deliver(.message(message))
        }
    }

    /// Sends a text frame to the peer (River never does; tests use it for hostile peers).
    public func sendText(_ message: [UInt8]) {
        let peer = state.withLock { $0.closed || $0.blackholed ? nil : $0.peer }
        peer?.deliver(.textMessage(message))
    }

    /// Closes both ends cleanly with `code` and `reason`.
    public func close(code: UInt16, reason: String) {
        guard let peer = finish(RiverConnectionClosure(code: code, reason: reason, initiatedLocally: true)) else { return }
        _ = peer.finish(RiverConnectionClosure(code: code, reason: reason, initiatedLocally: false))
    }

    /// Drops both ends without a close code.
    public func abort() {
        guard let peer = finish(RiverConnectionClosure(code: nil, reason: "aborted", initiatedLocally: true)) else { return }
        _ = peer.finish(RiverConnectionClosure(code: nil, reason: "connection reset", initiatedLocally: false))
    }

    /// Fault hook: an abrupt network cut, seen by both ends as a drop without close code.
    public func drop() {
        guard let peer = finish(RiverConnectionClosure(code: nil, reason: "connection dropped", initiatedLocally: false)) else { return }
        _ = peer.finish(RiverConnectionClosure(code: nil, reason: "connection dropped", initiatedLocally: false))
    }

    /// Fault hook: from now on nothing is delivered in either direction, but both ends stay open.
    public func blackhole() {
        let peer = state.withLock { state -> InMemoryConnection? in
            state.blackholed = true
            return state.peer
        }
        peer?.state.withLock { $0.blackholed = true }
    }

    /// Fault hook: deliver each message sent from this end `delay` later (order is kept).
    public func setDelay(_ delay: Duration?) {
        state.withLock { $0.delay = delay }
    }

    /// Whether this end has closed.
    public var isClosed: Bool { state.withLock { $0.closed } }

    private func deliver(_ event: RiverConnectionEvent) {
        let ok = state.withLock { !$0.closed && !$0.blackholed }
        if ok { continuation.yield(event) }
    }

    private let delayed = Mutex<(pending: [(ContinuousClock.Instant, RiverConnectionEvent)], running: Bool)>(([], false))

    private func deliverLater(_ event: RiverConnectionEvent, at deadline: ContinuousClock.Instant) {
        let start = delayed.withLock { state -> Bool in
            state.pending.append((deadline, event))
            if state.running { return false }
            state.running = true
            return true
        }
        guard start else { return }
        // A detached drain keeps delayed delivery off the sender's task; it ends as soon as
        // nothing is pending, and this type exists only for tests and in-process servers.
        Task.detached { [self] in
            while true {
                let next = delayed.withLock { state -> (ContinuousClock.Instant, RiverConnectionEvent)? in
                    if state.pending.isEmpty {
                        state.running = false
                        return nil
                    }
                    return state.pending.removeFirst()
                }
                guard let (deadline, event) = next else { return }
                try? await Task.sleep(until: deadline, clock: .continuous)
                deliver(event)
            }
        }
    }

    /// Marks this end closed and emits its final event; returns the peer when this call did it.
    private func finish(_ closure: RiverConnectionClosure) -> InMemoryConnection? {
        let peer = state.withLock { state -> InMemoryConnection?? in
            guard !state.closed else { return .none }
            state.closed = true
            let peer = state.peer
            state.peer = nil
            return .some(peer)
        }
        guard case .some(let maybePeer) = peer else { return nil }
        continuation.yield(.closed(closure))
        continuation.finish()
        return maybePeer ?? nil
    }
}

/// A ``RiverConnector`` that hands out in-memory connections and passes each server end to
/// `accept` (for example a test server's `serve(connection:)`).
public struct InMemoryConnector: RiverConnector {
    private let accept: @Sendable (InMemoryConnection) async throws -> Void

    /// Creates a connector.
    /// - Parameter accept: Called with the server end of every new connection; throwing
    ///   refuses the connection (the error is reported as ``RiverConnectError/Kind/refused``).
    public init(accept: @escaping @Sendable (InMemoryConnection) async throws -> Void) {
        self.accept = accept
    }

    /// `memory://`.
    public var endpointDescription: String { "memory://" }

    /// Makes a pair, hands the server end to `accept`, returns the client end.
    public func connect(timeout: Duration) async throws -> any RiverConnection {
        let (client, server) = InMemoryConnection.makePair()
        do {
            try await accept(server)
        } catch {
            throw RiverConnectError(.refused, "in-memory server refused: \(error)")
        }
        return client
    }
}

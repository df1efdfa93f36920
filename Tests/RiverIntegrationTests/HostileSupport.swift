import River
import RiverTesting
import Synchronization
import Testing

/// A scripted River "server" for hostile-peer tests: the test holds the server end of every
/// in-memory connection the client opens, answers (or mangles) the handshake itself, and then
/// sends whatever it wants.
struct HostileServer: Sendable {
    static let serverID = "SERVER"
    let codec: any RiverCodec
    let connector: InMemoryConnector
    private let accepted: AsyncStream<InMemoryConnection>

    init(codec: any RiverCodec) {
        self.codec = codec
        let (accepted, continuation) = AsyncStream.makeStream(of: InMemoryConnection.self, bufferingPolicy: .unbounded)
        self.accepted = accepted
        self.connector = InMemoryConnector { continuation.yield($0) }
    }

    /// The next connection the client opens (within `timeout`).
    func nextConnection(timeout: Duration = .seconds(30)) async throws -> ScriptedConnection {
        let accepted = self.accepted
        let connection = try await withDeadline(timeout, "a connection from the client") { () async -> InMemoryConnection? in
            // One consumer at a time: each test awaits connections sequentially.
            var iterator = accepted.makeAsyncIterator()
            return await iterator.next()
        }
        return ScriptedConnection(connection: connection, codec: codec)
    }
}

/// The server end of one connection, driven step by step by a test.
struct ScriptedConnection: Sendable {
    let connection: InMemoryConnection
    let codec: any RiverCodec
    /// The server's next seq on this session (the test keeps it across reconnects by hand).
    var seq = 0
    /// The server's ack (next client seq it expects).
    var ack = 0
    var clientID = ""
    var sessionID = ""

    init(connection: InMemoryConnection, codec: any RiverCodec) {
        self.connection = connection
        self.codec = codec
    }

    /// The next inbound message (decoded), or an error when the connection closes first.
    func receive(timeout: Duration = .seconds(30)) async throws -> TransportMessage {
        let events = connection.events
        let codec = self.codec
        return try await withDeadline(timeout, "a message from the client") { () async -> TransportMessage? in
            for await event in events {
                switch event {
                case .message(let bytes):
                    return try? codec.decode(bytes)
                case .textMessage:
                    continue
                case .closed:
                    return nil
                }
            }
            return nil
        }
    }

    /// Waits until the client closes this connection (returns how it closed).
    func waitUntilClosed(timeout: Duration = .seconds(30)) async throws -> RiverConnectionClosure {
        let events = connection.events
        return try await withDeadline(timeout, "the client to close the connection") { () async -> RiverConnectionClosure? in
            for await event in events {
                if case .closed(let closure) = event { return closure }
            }
            return nil
        }
    }

    /// Reads the handshake request, runs `beforeReplying`, then replies: `reply`, or an ok
    /// response accepting it.
    /// - Returns: The request.
    @discardableResult
    mutating func handshake(reply: RiverValue? = nil, beforeReplying: () -> Void = {}) async throws -> HandshakeRequest {
        let message = try await receive()
        guard case .handshakeRequest(let request)? = try ControlPayload.parse(message.payload) else {
            Issue.record("expected a handshake request, got \(message)")
            throw RiverError(code: .protocolViolation, message: "no handshake")
        }
        clientID = message.from
        sessionID = request.sessionId
        let payload = reply ?? ControlPayload.handshakeResponse(.ok(sessionId: request.sessionId)).value
        beforeReplying()
        sendRaw(TransportMessage(
            id: RiverID.generate(), from: HostileServer.serverID, to: message.from, seq: 0, ack: 0,
            streamId: message.streamId, controlFlags: [], payload: payload))
        return request
    }

    /// Receives the next client message and advances the ack past it.
    mutating func receiveSequenced() async throws -> TransportMessage {
        let message = try await receive()
        ack = max(ack, message.seq + 1)
        return message
    }

    /// Sends a sequenced message on `streamId` (seq advances unless `seq` is given).
    mutating func send(
        streamId: String, flags: ControlFlags = [], payload: RiverValue, seq explicitSeq: Int? = nil,
        from: String = HostileServer.serverID
    ) {
        let message = TransportMessage(
            id: RiverID.generate(), from: from, to: clientID, seq: explicitSeq ?? seq, ack: ack,
            streamId: streamId, controlFlags: flags, payload: payload)
        if explicitSeq == nil { seq += 1 }
        sendRaw(message)
    }

    /// Sends an rpc/upload result that closes the stream.
    mutating func sendResult(streamId: String, _ payload: RiverValue) {
        send(streamId: streamId, flags: .streamClosed, payload: ResultEnvelope.ok(payload).value)
    }

    func sendRaw(_ message: TransportMessage) {
        guard let bytes = try? codec.encode(message) else {
            Issue.record("could not encode \(message)")
            return
        }
        connection.send(bytes)
    }
}

/// Runs `body`, failing the test if it produces nothing (nil) or takes longer than `timeout`.
func withDeadline<Value: Sendable>(
    _ timeout: Duration, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: @escaping @Sendable () async -> Value?
) async throws -> Value {
    let value = await withTaskGroup(of: Value??.self) { group in
        group.addTask { .some(await body()) }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return .none
        }
        let first = await group.next() ?? .none
        group.cancelAll()
        return first
    }
    switch value {
    case .some(.some(let value)):
        return value
    case .some(.none):
        Issue.record("ended without \(what)", sourceLocation: sourceLocation)
        throw RiverError(code: .protocolViolation, message: "ended without \(what)")
    case .none:
        Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
        throw RiverError(code: .deadlineExceeded, message: "timed out waiting for \(what)")
    }
}

/// Collects a client's events until it closes.
final class EventLog: Sendable {
    private let events = Mutex<[RiverEvent]>([])
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(_ stream: AsyncStream<RiverEvent>) {
        let started = Task { [weak self] in
            for await event in stream { self?.append(event) }
        }
        task.withLock { $0 = started }
    }

    private func append(_ event: RiverEvent) { events.withLock { $0.append(event) } }

    /// Waits for the subscription to end (the client closed), then returns every event.
    func finish() async -> [RiverEvent] {
        await task.withLock { $0 }?.value
        return events.withLock { $0 }
    }

    /// The events so far.
    var snapshot: [RiverEvent] { events.withLock { $0 } }

    /// The protocol errors so far.
    var protocolErrors: [ProtocolErrorEvent] {
        snapshot.compactMap { if case .protocolError(let error) = $0 { error } else { nil } }
    }
}

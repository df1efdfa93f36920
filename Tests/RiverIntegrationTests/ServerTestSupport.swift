import Foundation
import River
import RiverTesting
import RiverTestServer
import Synchronization
import Testing

/// The two wire codecs, as test arguments.
enum ServerTestCodec: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case json, msgpack

    var codec: any RiverCodec {
        switch self {
        case .json: JSONCodec()
        case .msgpack: MessagePackCodec()
        }
    }

    var testDescription: String { rawValue }
}

/// A test failure with a message (timeouts, unexpected events).
struct ServerTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Timings for unit tests: heartbeats far apart so they never interleave with what a test
/// checks, unless the test is about heartbeats.
let quietTimings = RiverTestServer.Timings(
    heartbeatInterval: .seconds(30), heartbeatsUntilDead: 2,
    sessionDisconnectGrace: .seconds(60), handshakeTimeout: .seconds(30))

/// How long a test waits for an expected event before failing: generous, because a parallel
/// `swift test` on a loaded 2-core machine delays events by seconds (a passing test never
/// waits this long).
let eventDeadline: Duration = .seconds(30)

/// Runs `body` with a server serving in-memory connections.
func withTestServer(
    _ codec: ServerTestCodec,
    mode: RiverTestServer.Mode = .standard,
    timings: RiverTestServer.Timings = quietTimings,
    _ body: (RiverTestServer, ServerTestHarness) async throws -> Void
) async throws {
    let server = RiverTestServer(configuration: .init(codec: codec.codec, mode: mode, timings: timings))
    try await server.withInMemoryConnector { connector in
        try await body(server, ServerTestHarness(server: server, connector: connector, codec: codec.codec))
    }
}

/// Opens client connections to the server under test.
struct ServerTestHarness: Sendable {
    let server: RiverTestServer
    let connector: InMemoryConnector
    let codec: any RiverCodec

    /// A new connection with a hand-driven client (no handshake sent yet).
    func connect(clientID: String = "client-" + RiverID.generate()) async throws -> TestClient {
        let connection = try await connector.connect(timeout: .seconds(30))
        guard let memory = connection as? InMemoryConnection else { throw ServerTestFailure("not an in-memory connection") }
        return TestClient(connection: memory, codec: codec, clientID: clientID, serverID: server.serverID)
    }
}

/// Waits until `condition` holds, checking every few milliseconds, or fails at the deadline.
func waitUntil(
    _ what: String, within deadline: Duration = eventDeadline, _ condition: () -> Bool
) async throws {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: deadline)
    while !condition() {
        guard clock.now < end else { throw ServerTestFailure("timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// A hand-driven River client on one connection: builds messages with its own seq/ack,
/// encodes them with the real codec and reads the server's frames with deadlines.
final class TestClient: Sendable {
    let connection: InMemoryConnection
    let codec: any RiverCodec
    let clientID: String
    let serverID: String
    private struct Counters {
        var seq = 0
        var ack = 0
    }
    private let counters: Mutex<Counters>

    init(connection: InMemoryConnection, codec: any RiverCodec, clientID: String, serverID: String, seq: Int = 0, ack: Int = 0) {
        self.connection = connection
        self.codec = codec
        self.clientID = clientID
        self.serverID = serverID
        self.counters = Mutex(Counters(seq: seq, ack: ack))
    }

    /// The client's next seq and its ack (next expected server seq).
    var seq: Int { counters.withLock { $0.seq } }
    var ack: Int { counters.withLock { $0.ack } }

    /// Sets the counters (for a resumed session on a new connection).
    func setCounters(seq: Int, ack: Int) { counters.withLock { $0 = Counters(seq: seq, ack: ack) } }

    /// Sends a raw message, encoded.
    func sendRaw(_ message: TransportMessage) throws {
        connection.send(try codec.encode(message))
    }

    /// Sends `HANDSHAKE_REQ` and returns the server's response status.
    @discardableResult
    func handshake(
        sessionID: String,
        nextExpectedSeq: Int = 0,
        nextSentSeq: Int = 0,
        metadata: RiverValue? = nil,
        protocolVersion: String = riverProtocolVersion
    ) async throws -> HandshakeResponse {
        let request = HandshakeRequest(
            protocolVersion: protocolVersion, sessionId: sessionID,
            expectedSessionState: ExpectedSessionState(nextExpectedSeq: nextExpectedSeq, nextSentSeq: nextSentSeq),
            metadata: metadata)
        try sendRaw(
            TransportMessage(
                id: RiverID.generate(), from: clientID, to: serverID, seq: 0, ack: 0, streamId: RiverID.generate(),
                controlFlags: [], payload: ControlPayload.handshakeRequest(request).value, tracing: .empty))
        let response = try await nextRawMessage()
        #expect(response.from == serverID)
        #expect(response.to == clientID)
        #expect(response.seq == 0 && response.ack == 0)
        #expect(response.tracing == nil)
        guard case .handshakeResponse(let status)? = try ControlPayload.parse(response.payload) else {
            throw ServerTestFailure("expected HANDSHAKE_RESP, got \(response.payload)")
        }
        return status
    }

    /// Sends a sequenced message (seq/ack from the counters) and returns it.
    @discardableResult
    func send(
        stream streamID: String,
        flags: ControlFlags = [],
        payload: RiverValue,
        service: String? = nil,
        procedure: String? = nil
    ) throws -> TransportMessage {
        let (seq, ack) = counters.withLock { counters in
            defer { counters.seq += 1 }
            return (counters.seq, counters.ack)
        }
        let message = TransportMessage(
            id: RiverID.generate(), from: clientID, to: serverID, seq: seq, ack: ack, streamId: streamID,
            controlFlags: flags, payload: payload, serviceName: service, procedureName: procedure,
            tracing: service == nil ? nil : .empty)
        try sendRaw(message)
        return message
    }

    /// Opens a procedure stream: the first message with serviceName/procedureName.
    @discardableResult
    func open(
        _ service: String, _ procedure: String, stream: String = RiverID.generate(), initPayload: RiverValue = [:],
        closed: Bool
    ) throws -> String {
        try send(stream: stream, flags: closed ? [.streamOpen, .streamClosed] : .streamOpen, payload: initPayload, service: service, procedure: procedure)
        return stream
    }

    /// Sends `{type: CLOSE}` with the Closed bit.
    func close(stream: String) throws {
        try send(stream: stream, flags: .streamClosed, payload: ControlPayload.close.value)
    }

    /// Sends a client cancel (`CANCEL`, "cancelled by client") with the Cancel bit.
    func cancel(stream: String) throws {
        try send(
            stream: stream, flags: .streamCancel,
            payload: ResultEnvelope.error(ErrorPayload(code: ReservedErrorCode.cancel, message: "cancelled by client")).value)
    }

    /// The next connection event, or a failure at the deadline.
    func nextEvent(within deadline: Duration = eventDeadline) async throws -> RiverConnectionEvent {
        let events = connection.events
        return try await withThrowingTaskGroup(of: RiverConnectionEvent?.self) { group in
            group.addTask {
                var iterator = events.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try await Task.sleep(for: deadline)
                throw ServerTestFailure("no event from the server within \(deadline)")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let event = first else {
                throw ServerTestFailure("the connection's event stream ended")
            }
            return event
        }
    }

    /// The next frame's bytes; fails on close.
    func nextFrame(within deadline: Duration = eventDeadline) async throws -> [UInt8] {
        switch try await nextEvent(within: deadline) {
        case .message(let bytes): return bytes
        case .textMessage: throw ServerTestFailure("unexpected text frame")
        case .closed(let closure): throw ServerTestFailure("connection closed: \(closure)")
        }
    }

    /// The next message as decoded, without bookkeeping.
    func nextRawMessage(within deadline: Duration = eventDeadline) async throws -> TransportMessage {
        try codec.decode(try await nextFrame(within: deadline))
    }

    /// The next sequenced message, after River's receive rules (duplicates dropped, ack
    /// advanced); heartbeats are skipped unless `includeHeartbeats`.
    func nextMessage(includeHeartbeats: Bool = false, within deadline: Duration = eventDeadline) async throws -> TransportMessage {
        while true {
            let message = try await nextRawMessage(within: deadline)
            #expect(message.tracing == nil, "server messages never carry tracing")
            #expect(message.from == serverID)
            let accepted = counters.withLock { counters -> Bool in
                guard message.seq == counters.ack else { return false }
                counters.ack += 1
                return true
            }
            guard accepted else {
                throw ServerTestFailure("out-of-order or duplicate seq \(message.seq) (ack \(ack))")
            }
            if message.controlFlags.contains(.ack), !includeHeartbeats { continue }
            return message
        }
    }

    /// Waits for the connection to close; returns how.
    func expectClosed(within deadline: Duration = eventDeadline) async throws -> RiverConnectionClosure {
        while true {
            switch try await nextEvent(within: deadline) {
            case .closed(let closure): return closure
            case .message, .textMessage: continue
            }
        }
    }
}

/// `{ok: true, payload}`.
func ok(_ payload: RiverValue) -> RiverValue { ResultEnvelope.ok(payload).value }

/// `{ok: false, payload: {code, message, extras?}}`.
func err(_ code: String, _ message: String, extras: RiverValue? = nil) -> RiverValue {
    ResultEnvelope.error(ErrorPayload(code: code, message: message, extras: extras)).value
}

/// A connected client with a fresh session.
func connectedClient(_ harness: ServerTestHarness, metadata: RiverValue? = nil) async throws -> (TestClient, String) {
    let client = try await harness.connect()
    let sessionID = RiverID.generateSessionID()
    let status = try await client.handshake(sessionID: sessionID, metadata: metadata)
    #expect(status == .ok(sessionId: sessionID))
    return (client, sessionID)
}

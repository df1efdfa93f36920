import River
import RiverProtobuf
import RiverProtobufTestService
import RiverTestServer
import RiverTesting
import SwiftProtobuf
import RiverWebSocket
import Synchronization
import Testing

/// A protobuf-mode test server on a WebSocket port and a client of it (ProtoCodec, the
/// generated `River_Test_TestService.Client`) for the duration of `body`. Both are patient
/// (``RiverTestServer/Timings/patient``, ``RiverClient/Configuration/makePatient()``) unless
/// `timings` and `configure` say otherwise.
func withProtobufClient<Value: Sendable>(
    mode: RiverTestServer.Mode = .protobuf,
    timings: RiverTestServer.Timings = .patient,
    configure: (inout RiverClient.Configuration) -> Void = { _ in },
    body: (River_Test_TestService.Client, RiverClient, RiverTestServer) async throws -> Value
) async throws -> Value {
    let serverConfiguration = RiverTestServer.Configuration(codec: ProtoCodec(), mode: mode, timings: timings)
    var configuration = RiverClient.Configuration(serverID: serverConfiguration.serverID, codec: ProtoCodec(), randomSeed: 17)
    configuration.makePatient()
    configure(&configuration)
    let clientConfiguration = configuration
    return try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { server, port in
        try await withRiverClient(connector: WebSocketConnector(url: "ws://127.0.0.1:\(port)"), configuration: clientConfiguration) {
            client in
            try await body(River_Test_TestService.Client(client), client, server)
        }
    }
}

/// Runs `body` and returns the ``ProtobufRPCError`` it throws (recording an issue otherwise).
func protobufError(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async -> ProtobufRPCError? {
    do {
        try await body()
        Issue.record("expected a ProtobufRPCError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as ProtobufRPCError {
        return error
    } catch {
        Issue.record("expected a ProtobufRPCError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Waits until `condition` holds (polling), or fails after `timeout`.
func eventually(
    _ what: String, timeout: Duration = .seconds(15), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Every frame both ends of in-memory connections sent, in the order they were sent.
final class FrameLog: Sendable {
    struct Entry: Sendable {
        let fromClient: Bool
        let bytes: [UInt8]
    }

    private let entries = Mutex<[Entry]>([])

    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }
    var all: [Entry] { entries.withLock { $0 } }
}

/// One end of an in-memory connection that logs what it sends.
final class RecordingConnection: RiverConnection {
    let base: InMemoryConnection
    let log: FrameLog
    let isClient: Bool

    init(_ base: InMemoryConnection, log: FrameLog, isClient: Bool) {
        self.base = base
        self.log = log
        self.isClient = isClient
    }

    func send(_ message: [UInt8]) {
        log.append(.init(fromClient: isClient, bytes: message))
        base.send(message)
    }

    var events: AsyncStream<RiverConnectionEvent> { base.events }
    func close(code: UInt16, reason: String) { base.close(code: code, reason: reason) }
    func abort() { base.abort() }
}

/// Runs a protobuf-mode server and a client over logged in-memory connections; returns what
/// `body` returns and every frame sent either way.
func withRecordedProtobufClient<Value: Sendable>(
    clientID: String,
    mode: RiverTestServer.Mode = .protobuf,
    configure: (inout RiverClient.Configuration) -> Void = { _ in },
    body: (River_Test_TestService.Client) async throws -> Value
) async throws -> (Value, [FrameLog.Entry]) {
    let log = FrameLog()
    // Heartbeats only every minute: the recorded scenarios have none.
    let server = RiverTestServer(
        configuration: .init(codec: ProtoCodec(), mode: mode, timings: .init(heartbeatInterval: .seconds(60))))
    let (accepted, acceptedContinuation) = AsyncStream.makeStream(of: (any RiverConnection).self)
    let connector = InMemoryConnector { serverEnd in
        acceptedContinuation.yield(RecordingConnection(serverEnd, log: log, isClient: false))
    }
    var configuration = RiverClient.Configuration(clientID: clientID, serverID: server.serverID, codec: ProtoCodec(), randomSeed: 5)
    configuration.makePatient()
    configure(&configuration)
    let clientConfiguration = configuration
    let value = try await withThrowingTaskGroup(of: Void.self, returning: Value.self) { group in
        group.addTask { await server.serve(connections: accepted) }
        defer {
            acceptedContinuation.finish()
            group.cancelAll()
        }
        return try await withRiverClient(connector: LoggingConnector(base: connector, log: log), configuration: clientConfiguration) {
            client in
            try await body(River_Test_TestService.Client(client))
        }
    }
    return (value, log.all)
}

/// An in-memory connector whose client ends log what they send.
struct LoggingConnector: RiverConnector {
    let base: InMemoryConnector
    let log: FrameLog
    var endpointDescription: String { base.endpointDescription }
    func connect(timeout: Duration) async throws -> any RiverConnection {
        guard let end = try await base.connect(timeout: timeout) as? InMemoryConnection else {
            throw RiverConnectError(.refused, "not an in-memory connection")
        }
        return RecordingConnection(end, log: log, isClient: true)
    }
}

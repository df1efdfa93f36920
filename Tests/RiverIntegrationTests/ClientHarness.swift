import Logging
import River
import RiverTesting
import RiverTestServer
import RiverWebSocket
import Testing

/// Which codec and which wire a live client test runs over.
struct ClientSetup: CustomTestStringConvertible, Sendable {
    enum Wire: String, Sendable { case memory, websocket }
    var codecName: String
    var wire: Wire

    var codec: any RiverCodec { codecName == "json" ? JSONCodec() : MessagePackCodec() }
    var testDescription: String { "\(codecName)/\(wire.rawValue)" }

    static let all: [ClientSetup] = [
        .init(codecName: "json", wire: .memory), .init(codecName: "msgpack", wire: .memory),
        .init(codecName: "json", wire: .websocket), .init(codecName: "msgpack", wire: .websocket),
    ]
    static let websocket: [ClientSetup] = all.filter { $0.wire == .websocket }
}

/// Runs a test server and a client connected to it for the duration of `body`. Both are
/// patient (``RiverTestServer/Timings/patient``, ``RiverClient/Configuration/makePatient()``)
/// unless `timings` and `configure` say otherwise.
func withClient<Value: Sendable>(
    _ setup: ClientSetup,
    mode: RiverTestServer.Mode = .standard,
    timings: RiverTestServer.Timings = .patient,
    configure: (inout RiverClient.Configuration) -> Void = { _ in },
    body: (RiverClient, RiverTestServer) async throws -> Value
) async throws -> Value {
    let serverConfiguration = RiverTestServer.Configuration(codec: setup.codec, mode: mode, timings: timings)
    var clientConfiguration = RiverClient.Configuration(
        serverID: serverConfiguration.serverID, codec: setup.codec, randomSeed: 42)
    clientConfiguration.makePatient()
    configure(&clientConfiguration)
    let finalConfiguration = clientConfiguration
    switch setup.wire {
    case .memory:
        let server = RiverTestServer(configuration: serverConfiguration)
        return try await server.withInMemoryConnector { connector in
            try await withRiverClient(connector: connector, configuration: finalConfiguration) { client in
                try await body(client, server)
            }
        }
    case .websocket:
        return try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { server, port in
            let connector = try WebSocketConnector(url: "ws://127.0.0.1:\(port)")
            return try await withRiverClient(connector: connector, configuration: finalConfiguration) { client in
                try await body(client, server)
            }
        }
    }
}

/// Waits until `condition` holds, checking every few milliseconds, or fails after `timeout`.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(60), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now >= deadline {
            Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
            throw RiverError(code: .deadlineExceeded, message: "timed out waiting for \(what)")
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Waits for the first event matching `match`, or fails after `timeout`.
func waitForEvent(
    _ events: AsyncStream<RiverEvent>, timeout: Duration = .seconds(60), _ match: @escaping @Sendable (RiverEvent) -> Bool
) async throws -> RiverEvent {
    try await withThrowingTaskGroup(of: RiverEvent?.self) { group in
        group.addTask {
            for await event in events where match(event) { return event }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        guard let first else {
            throw RiverError(code: .deadlineExceeded, message: "no matching event within \(timeout)")
        }
        return first
    }
}

// MARK: The reference services' types, written by hand (the generated client is tested separately).

struct NumberInit: Codable, Sendable, Hashable { var n: Double }
struct ResultOutput: Codable, Sendable, Hashable { var result: Double }
struct Empty: Codable, Sendable, Hashable {}
struct EchoInput: Codable, Sendable, Hashable {
    var msg: String
    var ignore: Bool? = nil
}
struct EchoOutput: Codable, Sendable, Hashable { var response: String }
struct PrefixInit: Codable, Sendable, Hashable { var prefix: String }
struct DivideInit: Codable, Sendable, Hashable {
    var a: Double
    var b: Double
}
struct FallibleEchoInput: Codable, Sendable, Hashable {
    var msg: String
    var throwResult: Bool? = nil
    var throwError: Bool? = nil
}
struct CountOutput: Codable, Sendable, Hashable { var count: Double }
struct StringResult: Codable, Sendable, Hashable { var result: String }
struct Messages: Codable, Sendable, Hashable { var msgs: [Double] }
struct Done: Codable, Sendable, Hashable { var done: Bool }

enum Reference {
    static let add = RPCProcedure<NumberInit, ResultOutput, RiverServiceError>(service: "test", procedure: "add")
    static let echo = StreamProcedure<Empty, EchoInput, EchoOutput, RiverServiceError>(service: "test", procedure: "echo")
    static let echoWithPrefix = StreamProcedure<PrefixInit, EchoInput, EchoOutput, RiverServiceError>(service: "test", procedure: "echoWithPrefix")
    static let echoBinary = RPCProcedure<RiverValue, RiverValue, RiverServiceError>(service: "test", procedure: "echoBinary")
    static let orderingAdd = RPCProcedure<NumberInit, NumberInit, RiverServiceError>(service: "ordering", procedure: "add")
    static let orderingGetAll = RPCProcedure<Empty, Messages, RiverServiceError>(service: "ordering", procedure: "getAll")
    static let divide = RPCProcedure<DivideInit, ResultOutput, RiverServiceError>(service: "fallible", procedure: "divide")
    static let fallibleEcho = StreamProcedure<Empty, FallibleEchoInput, EchoOutput, RiverServiceError>(service: "fallible", procedure: "echo")
    static let subscribableAdd = RPCProcedure<NumberInit, ResultOutput, RiverServiceError>(service: "subscribable", procedure: "add")
    static let value = SubscriptionProcedure<Empty, CountOutput, RiverServiceError>(service: "subscribable", procedure: "value")
    static let addMultiple = UploadProcedure<Empty, NumberInit, ResultOutput, RiverServiceError>(service: "uploadable", procedure: "addMultiple")
    static let addMultipleWithPrefix = UploadProcedure<PrefixInit, NumberInit, StringResult, RiverServiceError>(service: "uploadable", procedure: "addMultipleWithPrefix")
    static let cancellableAdd = UploadProcedure<Empty, NumberInit, ResultOutput, RiverServiceError>(service: "uploadable", procedure: "cancellableAdd")
    static let blockingRpc = RPCProcedure<Empty, Empty, RiverServiceError>(service: "cancel", procedure: "blockingRpc")
    static let blockingStream = StreamProcedure<Empty, Empty, Empty, RiverServiceError>(service: "cancel", procedure: "blockingStream")
    static let blockingUpload = UploadProcedure<Empty, Empty, Empty, RiverServiceError>(service: "cancel", procedure: "blockingUpload")
    static let blockingSubscription = SubscriptionProcedure<Empty, Empty, RiverServiceError>(service: "cancel", procedure: "blockingSubscription")
    static let immediateSubscription = SubscriptionProcedure<Empty, Done, RiverServiceError>(service: "cancel", procedure: "immediateSubscription")
    static let handshakeEcho = RPCProcedure<EchoInput, EchoOutput, RiverServiceError>(service: "test", procedure: "echo")
}

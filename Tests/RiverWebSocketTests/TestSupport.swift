import Foundation
import River
import RiverWebSocket
import Testing

/// Thrown by ``withTimeout(_:_:)`` when the deadline passes first.
struct TimeoutError: Error, CustomStringConvertible {
    var duration: Duration
    var description: String { "timed out after \(duration)" }
}

/// Runs `body` and fails with ``TimeoutError`` if it has not finished within `duration`.
/// Tests wait on events through this instead of sleeping.
func withTimeout<T: Sendable>(
    _ duration: Duration = .seconds(60),
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw TimeoutError(duration: duration)
        }
        defer { group.cancelAll() }
        guard let result = try await group.next() else { throw TimeoutError(duration: duration) }
        return result
    }
}

/// The next event of an iterator, failing the test when the stream ended.
func nextEvent(_ iterator: inout AsyncStream<RiverConnectionEvent>.Iterator) async throws -> RiverConnectionEvent {
    try #require(await iterator.next())
}

/// The next event, which must be a binary message.
func nextMessage(_ iterator: inout AsyncStream<RiverConnectionEvent>.Iterator) async throws -> [UInt8] {
    let event = try await nextEvent(&iterator)
    guard case .message(let bytes) = event else {
        Issue.record("expected a message, got \(event)")
        throw TimeoutError(duration: .zero)
    }
    return bytes
}

/// Skips messages until the `.closed` event and returns it.
func closure(_ iterator: inout AsyncStream<RiverConnectionEvent>.Iterator) async throws -> RiverConnectionClosure {
    while let event = await iterator.next() {
        if case .closed(let closure) = event {
            #expect(await iterator.next() == nil, "nothing may follow .closed")
            return closure
        }
    }
    Issue.record("the stream ended without .closed")
    throw TimeoutError(duration: .zero)
}

/// Takes the first connection accepted by `listener`.
func accept(_ listener: WebSocketListener) async throws -> WebSocketConnection {
    for await connection in listener.connections {
        return try #require(connection as? WebSocketConnection)
    }
    Issue.record("the listener closed without a connection")
    throw TimeoutError(duration: .zero)
}

/// A bound listener and one client connected to it, handed to `body`; everything is closed after.
func withConnectedPair(
    listener listenerConfiguration: WebSocketListener.Configuration = .defaults,
    client clientConfiguration: WebSocketConnector.Configuration = .defaults,
    path: String = "/",
    _ body: @escaping @Sendable (_ client: any RiverConnection, _ server: WebSocketConnection) async throws -> Void
) async throws {
    let listener = try await WebSocketListener.bind(host: "127.0.0.1", port: 0, configuration: listenerConfiguration)
    do {
        try await withTimeout {
            let connector = try WebSocketConnector(url: "ws://127.0.0.1:\(listener.port)\(path)", configuration: clientConfiguration)
            async let server = accept(listener)
            let client = try await connector.connect(timeout: .seconds(30))
            try await body(client, try await server)
        }
    } catch {
        await listener.close()
        throw error
    }
    await listener.close()
}

/// A deterministic byte pattern.
func pattern(count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
}

/// A fresh directory for files a test writes; ``remove()`` deletes it with its contents.
struct ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("river-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Writes `text` to a file called `name` in the directory.
    /// - Returns: The file's path.
    func write(_ text: String, to name: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

import River
import Synchronization

/// Wraps the WebSocket connector so the CLI knows why connecting failed, whether it ever
/// connected, and when its connections have really closed: a CANCEL or CLOSE queued just
/// before exit is flushed before the process ends.
///
/// Connections are handed to the session through ``TrackedConnection``, whose events
/// ``run(closeGrace:)`` forwards; run it as a child task next to the client.
final class TrackingConnector: RiverConnector {
    private struct State {
        var lastError: (any Error)?
        var everConnected = false
        var connections: [TrackedConnection] = []
    }

    private let inner: any RiverConnector
    private let state = Mutex(State())
    private let opened: AsyncStream<TrackedConnection>
    private let openedContinuation: AsyncStream<TrackedConnection>.Continuation

    /// Wraps `inner`.
    init(_ inner: any RiverConnector) {
        self.inner = inner
        (opened, openedContinuation) = AsyncStream.makeStream(of: TrackedConnection.self)
    }

    /// The inner connector's endpoint.
    var endpointDescription: String { inner.endpointDescription }

    /// The last error connecting failed with, if any.
    var lastError: (any Error)? { state.withLock { $0.lastError } }

    /// Whether a connection was ever opened.
    var everConnected: Bool { state.withLock { $0.everConnected } }

    /// Whether a connection error should end the session instead of being retried: errors
    /// before the first successful connection are (a CLI should fail fast on a wrong URL or a
    /// refused port); later ones are retried as transparent reconnects.
    func isFatal(_ error: any Error) -> Bool {
        !everConnected && error is RiverConnectError
    }

    /// Opens a connection through the inner connector.
    func connect(timeout: Duration) async throws -> any RiverConnection {
        do {
            let connection = TrackedConnection(try await inner.connect(timeout: timeout))
            state.withLock {
                $0.everConnected = true
                $0.connections.append(connection)
            }
            openedContinuation.yield(connection)
            return connection
        } catch {
            state.withLock { $0.lastError = error }
            throw error
        }
    }

    /// Forwards every connection's events until ``finish()``; then waits up to `closeGrace`
    /// for the connections to finish closing (flushing what was queued) and aborts the rest.
    func run(closeGrace: Duration) async {
        await withTaskGroup(of: Bool.self) { group in
            var forwarding = 0
            for await connection in opened {
                forwarding += 1
                group.addTask {
                    await connection.forwardEvents()
                    return true
                }
            }
            group.addTask {
                try? await Task.sleep(for: closeGrace)
                return false
            }
            while forwarding > 0, let isForwarder = await group.next() {
                if isForwarder {
                    forwarding -= 1
                } else {
                    for connection in state.withLock({ $0.connections }) { connection.abort() }
                    break
                }
            }
            group.cancelAll()
        }
    }

    /// Ends ``run(closeGrace:)`` once the open connections have closed.
    func finish() {
        openedContinuation.finish()
    }
}

/// A connection whose events are forwarded by ``TrackingConnector/run(closeGrace:)``.
final class TrackedConnection: RiverConnection {
    private let inner: any RiverConnection
    private let continuation: AsyncStream<RiverConnectionEvent>.Continuation
    /// The forwarded events.
    let events: AsyncStream<RiverConnectionEvent>

    init(_ inner: any RiverConnection) {
        self.inner = inner
        (events, continuation) = AsyncStream.makeStream(of: RiverConnectionEvent.self)
    }

    /// Forwards the inner connection's events until it closed.
    func forwardEvents() async {
        for await event in inner.events {
            continuation.yield(event)
            if case .closed = event { break }
        }
        continuation.finish()
    }

    /// Queues a message.
    func send(_ message: [UInt8]) { inner.send(message) }
    /// Flushes, then closes.
    func close(code: UInt16, reason: String) { inner.close(code: code, reason: reason) }
    /// Drops the connection.
    func abort() { inner.abort() }
}

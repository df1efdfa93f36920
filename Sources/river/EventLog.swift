import River
import Synchronization

/// Watches a client's ``RiverEvent``s: remembers what explains a failure (a rejected
/// handshake, an exhausted retry budget, the last disconnect reason) and, with `--verbose`,
/// prints each event on stderr.
final class EventLog: Sendable {
    /// What the events said, for the final error message.
    struct Summary: Sendable {
        /// The handshake failure message, if the server rejected the handshake.
        var handshakeFailure: String?
        /// Whether the reconnect budget ran out.
        var retriesExceeded = false
        /// The last reason a connection was lost or could not open.
        var lastDisconnect: String?
        /// Whether a session was ever established.
        var everConnected = false
    }

    private let verbose: Bool
    private let endpoint: String
    private let state = Mutex(Summary())

    /// Creates a log.
    /// - Parameters:
    ///   - verbose: Whether to print every event on stderr.
    ///   - endpoint: The URL, for messages.
    init(verbose: Bool, endpoint: String) {
        self.verbose = verbose
        self.endpoint = endpoint
    }

    /// What the events said so far.
    var summary: Summary { state.withLock { $0 } }

    /// Reads `events` until the stream ends (when the client closes).
    func consume(_ events: AsyncStream<RiverEvent>) async {
        for await event in events {
            record(event)
            if verbose { Console.error("river: \(Self.describe(event, endpoint: endpoint))") }
        }
    }

    private func record(_ event: RiverEvent) {
        state.withLock { summary in
            switch event {
            case .connectionStatus(.connected):
                summary.everConnected = true
            case .connectionStatus(.disconnected(let reason)):
                summary.lastDisconnect = reason
            case .protocolError(let error):
                switch error.kind {
                case .handshakeFailed: summary.handshakeFailure = error.message
                case .retriesExceeded: summary.retriesExceeded = true
                default: break
                }
            default:
                break
            }
        }
    }

    /// A readable line for an event.
    static func describe(_ event: RiverEvent, endpoint: String) -> String {
        switch event {
        case .connectionStatus(.connecting(let attempt)):
            "connecting to \(endpoint) (attempt \(attempt))"
        case .connectionStatus(.connected(let sessionID)):
            "connected (session \(sessionID))"
        case .connectionStatus(.disconnected(let reason)):
            "disconnected: \(reason)"
        case .sessionStatus(.created(let sessionID)):
            "session \(sessionID) created"
        case .sessionStatus(.resumed(let sessionID, let replayed)):
            "session \(sessionID) resumed on a new connection (\(replayed) buffered message\(replayed == 1 ? "" : "s") replayed)"
        case .sessionStatus(.destroyed(let sessionID, let reason)):
            "session \(sessionID) destroyed: \(reason)"
        case .protocolError(let error):
            "protocol error: \(error.message)"
        }
    }
}

import River
import Synchronization

/// Watches a client's ``RiverEvent``s: remembers what explains a failure (a rejected
/// handshake and its wire code, an exhausted retry budget, the last disconnect reason, why the
/// session was lost) and, with `--verbose`,
/// prints each event on stderr (the library's ``RiverEvent/description``, after the endpoint).
final class EventLog: Sendable {
    /// What the events said, for the final error message.
    struct Summary: Sendable {
        /// A handshake the server rejected for good: its wire code (when the server sent one)
        /// and reason.
        struct HandshakeRejection: Sendable, CustomStringConvertible {
            /// The server's wire code (`REJECTED_BY_CUSTOM_HANDLER`, or one this client does
            /// not know); `nil` when the handshake failed on this side.
            var code: HandshakeErrorCode?
            /// What went wrong.
            var message: String

            /// `CODE: reason`.
            var description: String { code.map { "\($0): \(message)" } ?? message }
        }

        /// Why the server rejected the handshake, if it did.
        var handshakeRejection: HandshakeRejection?
        /// Whether the reconnect budget ran out.
        var retriesExceeded = false
        /// The last reason a connection was lost or could not open.
        var lastDisconnect: String?
        /// Whether a session was ever established.
        var everConnected = false
        /// Why the first session was destroyed (a server restart, an invalid message, …): the
        /// loss that ended the call; closing the client destroys a session too, later.
        var sessionLoss: String?
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
            if verbose { Console.error("river: \(endpoint): \(event)") }
        }
    }

    private func record(_ event: RiverEvent) {
        state.withLock { summary in
            switch event {
            case .connectionStatus(.connected):
                summary.everConnected = true
            case .connectionStatus(.disconnected(let reason)):
                summary.lastDisconnect = reason
            case .sessionStatus(.destroyed(_, let reason)):
                if summary.sessionLoss == nil { summary.sessionLoss = reason }
            case .protocolError(let error):
                switch error.kind {
                case .handshakeFailed(let code):
                    summary.handshakeRejection = .init(code: code, message: Self.strippingPrefix("handshake failed: ", of: error.message))
                case .retriesExceeded: summary.retriesExceeded = true
                default: break
                }
            default:
                break
            }
        }
    }

    private static func strippingPrefix(_ prefix: String, of text: String) -> String {
        text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
    }
}

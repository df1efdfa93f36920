import River

/// Turns the error a call ended with into the line the user reads and the exit status. Every
/// line names the cause: the connect error, the handshake rejection with its wire code, why the
/// session was lost, or what the server sent.
struct CallFailure {
    /// The server URL, for messages.
    var url: String
    /// What the client's events said.
    var summary: EventLog.Summary
    /// The last error connecting failed with, if any.
    var lastConnectError: (any Error)?

    /// The message and exit status for `error`.
    func classify(_ error: any Error) -> CLIError {
        if let error = error as? CLIError { return error }
        if let error = error as? RiverConnectError { return connectFailure(error) }
        guard let error = error as? RiverError else {
            return CLIError(.internalError, "\(error)")
        }
        if error.code == .deadlineExceeded {
            return CLIError(.deadlineExceeded, "deadline exceeded: \(error.message); the call was cancelled")
        }
        if let rejection = summary.handshakeRejection {
            if let code = rejection.code {
                return CLIError(.handshakeRejected, "the server at \(url) rejected the handshake with \(code): \(rejection.message)")
            }
            return CLIError(.handshakeRejected, "the handshake with \(url) failed: \(rejection.message)")
        }
        if !summary.everConnected, let lastConnectError {
            return connectFailure(lastConnectError)
        }
        if error.code == .unexpectedDisconnect, !summary.everConnected {
            // Never connected: what the last attempt ran into, not the grace period it ended in.
            let reason = summary.lastDisconnect ?? cause(of: error) ?? error.message
            return CLIError(.connectionFailed, "cannot connect to \(url): \(reason) (gave up: \(summary.sessionLoss ?? "reconnects exhausted"))")
        }
        if error.code == .unexpectedDisconnect, summary.retriesExceeded {
            let reason = summary.lastDisconnect.map { ": \($0)" } ?? ""
            return CLIError(.connectionFailed, "lost the connection to \(url) and could not reconnect\(reason)")
        }
        var message = "\(error.code): \(error.message)"
        if let extras = error.extras { message += " \(JSONText.render(extras))" }
        if error.code.isProtocolError, error.code != .unexpectedDisconnect {
            // INVALID_REQUEST, UNCAUGHT_ERROR, CANCEL: the server's own answer is the cause.
            return CLIError(.protocolError, "the server answered \(message)")
        }
        if let cause = cause(of: error) { message += " (cause: \(cause))" }
        return CLIError(.protocolError, message)
    }

    /// Why the connection or session failed: the error's own account when the library gives
    /// one, else what the events said (why the session was lost, the last disconnect).
    func cause(of error: RiverError) -> String? {
        // The library's typed cause is already in the error's message.
        if error.cause != nil { return nil }
        if let underlying = error.underlying { return "\(underlying)" }
        if let loss = summary.sessionLoss { return "session lost: \(loss)" }
        return summary.lastDisconnect.map { "disconnected: \($0)" }
    }

    func connectFailure(_ error: any Error) -> CLIError {
        if let error = error as? RiverConnectError, error.kind == .invalidURL {
            return CLIError(.invalidInput, "invalid URL \(url): \(error.message)")
        }
        return CLIError(.connectionFailed, "cannot connect to \(url): \(error)")
    }
}

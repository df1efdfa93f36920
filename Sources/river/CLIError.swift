import ArgumentParser

/// A failure of a `river` command: what to tell the user on stderr and which exit status to
/// end with.
struct CLIError: Error, CustomStringConvertible {
    /// What kind of failure, which fixes the exit status. Extensible.
    struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The process exit status for this kind of failure.
        var exitStatus: Int32
        /// A short name for messages.
        var name: String

        /// A procedure returned a service error result (status 1).
        static let serviceError = Code(exitStatus: 1, name: "service error")
        /// Input the user gave is unusable: malformed JSON, a schema mismatch, a procedure
        /// called with the wrong subcommand, a bad URL or header (status 3).
        static let invalidInput = Code(exitStatus: 3, name: "invalid input")
        /// The server could not be reached: refused, DNS, TLS, HTTP upgrade, timeout (status 4).
        static let connectionFailed = Code(exitStatus: 4, name: "connection failed")
        /// The server rejected the handshake, for example bad metadata (status 5).
        static let handshakeRejected = Code(exitStatus: 5, name: "handshake rejected")
        /// A River protocol error: INVALID_REQUEST, UNCAUGHT_ERROR, a cancel by the server, a
        /// lost session, a malformed reply (status 6).
        static let protocolError = Code(exitStatus: 6, name: "protocol error")
        /// The call did not finish within `--timeout` (status 7).
        static let deadlineExceeded = Code(exitStatus: 7, name: "deadline exceeded")
        /// Anything unexpected (status 70, `EX_SOFTWARE`).
        static let internalError = Code(exitStatus: 70, name: "internal error")
        /// Cancelled by SIGINT (status 130, the shell convention 128 + 2).
        static let interrupted = Code(exitStatus: 130, name: "interrupted")
        /// Cancelled by SIGTERM (status 143, 128 + 15).
        static let terminated = Code(exitStatus: 143, name: "terminated")

        /// The name.
        var description: String { name }
    }

    /// The kind of failure.
    var code: Code
    /// A readable explanation (one line).
    var message: String

    /// Creates an error.
    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    var description: String { message }

    /// Prints the message on stderr (unless empty) and returns the exit code to throw.
    func report() -> ExitCode {
        if !message.isEmpty { Console.error("river: \(message)") }
        return ExitCode(code.exitStatus)
    }
}

/// The exit statuses, as documented in `river --help`.
enum ExitStatusHelp {
    /// The help text listing every exit status.
    static let text = """
        Exit status: 0 success; 1 the procedure returned a service error (printed as \
        {"code","message"} on stdout); 3 invalid input (JSON, schema mismatch, wrong \
        subcommand for the procedure, bad URL); 4 connection failed; 5 handshake rejected; \
        6 protocol error (INVALID_REQUEST, UNCAUGHT_ERROR, cancelled by the server, session \
        lost); 7 --timeout exceeded; 64 usage error; 70 internal error; 130 SIGINT; 143 SIGTERM.
        """
}

/// How a call ended, as metrics labels and log lines name it: a bounded set of values.
struct CallEnding: Sendable {
    /// The label: `OK`, `SERVICE_ERROR`, a protocol or local ``RiverError/Code``, or `OTHER`.
    let label: String
    /// The error, when the call threw.
    let error: (any Error)?

    init(label: String, error: (any Error)?) {
        self.label = label
        self.error = error
    }

    /// The call completed (for an rpc or upload: with its output).
    static let ok = CallEnding(label: "OK", error: nil)
    /// An rpc or upload ended with a service error the procedure declares.
    static let serviceError = CallEnding(label: "SERVICE_ERROR", error: nil)

    /// An rpc's or upload's result: ``ok``, or ``serviceError`` for a declared service error.
    init<Output, Failure>(result: Result<Output, Failure>) {
        switch result {
        case .success: self = .ok
        case .failure: self = .serviceError
        }
    }

    /// The call threw `error`. A code from the wire that River does not know becomes `OTHER`,
    /// so a server cannot grow the label set.
    /// - Parameter afterServiceError: Whether the server had sent a service error result: a
    ///   call that then throws an error of another type (a protobuf client's) ended with it.
    static func threw(_ error: any Error, afterServiceError: Bool = false) -> CallEnding {
        guard let error = error as? RiverError else {
            if error is CancellationError { return CallEnding(label: RiverError.Code.cancel.rawValue, error: error) }
            return CallEnding(label: afterServiceError ? serviceError.label : "OTHER", error: error)
        }
        let label = knownCodes.contains(error.code) ? error.code.rawValue : "OTHER"
        return CallEnding(label: label, error: error)
    }

    /// The codes that are labels of their own.
    private static let knownCodes: Set<RiverError.Code> = [
        .uncaughtError, .invalidRequest, .cancel, .unexpectedDisconnect,
        .encodingFailure, .decodingFailure, .payloadTooLarge, .deadlineExceeded, .unknownServer, .protocolViolation,
    ]
}

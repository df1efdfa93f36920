// API skeleton: the bodies land with the session layer (issues #3 and #4).

/// Writes the requests of an upload or stream call.
public struct RequestWriter<Input: RiverRequestPayload>: Sendable {
    /// Sends one request, waiting for room in the session's send buffer.
    /// - Throws: ``RiverError`` when the call has ended or the request cannot be encoded.
    public func write(_ request: Input) async throws {
        throw RiverError(code: .unexpectedDisconnect, message: "not implemented yet")
    }

    /// Closes the request side (sends CLOSE). Idempotent.
    public func finish() async throws {
        throw RiverError(code: .unexpectedDisconnect, message: "not implemented yet")
    }
}

/// The results of a subscription or stream call, in order.
public struct ResponseStream<Output: RiverResponsePayload, Failure: RiverServiceFailure>: AsyncSequence, Sendable {
    /// One result: an output, or a service error the procedure declares.
    public typealias Element = Result<Output, Failure>

    /// Iterates the results.
    public struct AsyncIterator: AsyncIteratorProtocol {
        /// The next result, or `nil` when the server closed the stream.
        /// - Throws: ``RiverError`` for protocol errors and lost sessions.
        public mutating func next() async throws -> Element? {
            throw RiverError(code: .unexpectedDisconnect, message: "not implemented yet")
        }
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}

/// A River client: calls procedures on a River server over one long-lived session.
public final class RiverClient: Sendable {
    /// Calls an rpc procedure.
    /// - Returns: The output, or the service error the procedure declared.
    /// - Throws: ``RiverError`` for protocol errors, lost sessions and local failures.
    public func rpc<Init, Output, Failure>(
        _ procedure: RPCProcedure<Init, Output, Failure>,
        _ initPayload: Init,
        options: CallOptions = .defaults
    ) async throws -> Result<Output, Failure> {
        throw RiverError(code: .unexpectedDisconnect, message: "not implemented yet")
    }

    /// Calls an upload procedure: `requests` writes the requests; when it returns the request
    /// side is finished and the one result is awaited.
    public func upload<Init, Input, Output, Failure>(
        _ procedure: UploadProcedure<Init, Input, Output, Failure>,
        _ initPayload: Init,
        options: CallOptions = .defaults,
        requests: (RequestWriter<Input>) async throws -> Void
    ) async throws -> Result<Output, Failure> {
        throw RiverError(code: .unexpectedDisconnect, message: "not implemented yet")
    }

    /// Calls a subscription procedure; `body` reads the results. Returning from `body`
    /// before the server closed cancels the subscription.
    public func subscribe<Init, Output, Failure, Value: Sendable>(
        _ procedure: SubscriptionProcedure<Init, Output, Failure>,
        _ initPayload: Init,
        options: CallOptions = .defaults,
        body: (ResponseStream<Output, Failure>) async throws -> Value
    ) async throws -> Value {
        throw RiverError(code: .unexpectedDisconnect, message: "not implemented yet")
    }

    /// Calls a stream procedure; `body` writes requests and reads results. Returning from
    /// `body` before both sides closed cancels the stream.
    public func stream<Init, Input, Output, Failure, Value: Sendable>(
        _ procedure: StreamProcedure<Init, Input, Output, Failure>,
        _ initPayload: Init,
        options: CallOptions = .defaults,
        body: (RequestWriter<Input>, ResponseStream<Output, Failure>) async throws -> Value
    ) async throws -> Value {
        throw RiverError(code: .unexpectedDisconnect, message: "not implemented yet")
    }
}

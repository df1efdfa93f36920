/// Writes the requests of an upload or stream call.
///
/// Writes wait for room in the session's send buffer (back-pressure). After ``finish()``,
/// a cancellation, or a server cancel, writes fail and nothing more is sent on the stream.
public struct RequestWriter<Input: RiverRequestPayload>: Sendable {
    let call: Call

    init(call: Call) {
        self.call = call
    }

    /// Sends one request, waiting for room in the session's send buffer.
    /// - Throws: ``RiverError``: ``RiverError/Code/encodingFailure``,
    ///   ``RiverError/Code/payloadTooLarge``, or ``RiverError/Code/cancel`` when the request
    ///   side is closed; or what an interceptor's input transform threw.
    public func write(_ request: Input) async throws {
        let payload = try Call.encodePayload(request, what: "request")
        guard let hooks = call.hooks else { return try await call.write(payload) }
        try await call.write(try hooks.input(payload))
    }

    /// Closes the request side (sends CLOSE). Idempotent; a no-op after a cancellation.
    public func finish() async throws {
        try call.finish()
    }

    /// Cancels the whole call: sends CANCEL once; the response side ends with
    /// ``RiverError/Code/cancel``.
    public func cancel() {
        call.cancel(RiverError(code: .cancel, message: "cancelled by client"))
    }

    /// How many requests were written, and how many of those the server has acknowledged
    /// (for upload progress).
    public var progress: (sent: Int, acknowledged: Int) { call.progress }

    /// Waits until the call ends, and says why: the error it ended with (a lost session, a
    /// cancel by either side, the deadline), or `nil` when both sides closed cleanly.
    ///
    /// A writer learns that its call ended from its next ``write(_:)``. An upload closure that
    /// writes only when something else happens (and may not write for a long time) can race
    /// this against its own work to learn of a lost session at once:
    ///
    /// ```swift
    /// try await client.upload(Uploads.Send.procedure, .init()) { writer in
    ///     try await withThrowingTaskGroup(of: Void.self) { group in
    ///         group.addTask { for await item in items { try await writer.write(item) } }
    ///         group.addTask { if let error = await writer.ended() { throw error } }
    ///         try await group.next()
    ///         group.cancelAll()
    ///     }
    /// }
    /// ```
    ///
    /// Returns `nil` at once when the waiting task is cancelled (as `cancelAll()` does above).
    public func ended() async -> RiverError? {
        await call.transport.waitUntilEnded(call.streamID)
    }
}

/// The results of a subscription or stream call, in order.
///
/// Each element is a result: the output, or a service error the procedure declares (a stream
/// may yield an error and go on). The sequence ends when the server closes its side and
/// throws ``RiverError`` for protocol errors (server cancel, INVALID_REQUEST, lost session).
/// Iterate it once.
public struct ResponseStream<Output: RiverResponsePayload, ServiceError: RiverServiceFailure>: AsyncSequence, Sendable {
    /// One result.
    public typealias Element = Result<Output, ServiceError>

    let call: Call

    init(call: Call) {
        self.call = call
    }

    /// Iterates the results.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var reader: CallReader

        /// The next result, or `nil` when the server closed the stream.
        /// - Throws: ``RiverError`` for protocol errors and lost sessions.
        public mutating func next() async throws -> Element? {
            try await reader.next(Output.self, ServiceError.self)
        }
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: CallReader(call: call, interruptible: true))
    }

    /// Cancels the call: sends CANCEL once; iteration then ends with ``RiverError/Code/cancel``.
    public func cancel() {
        call.cancel(RiverError(code: .cancel, message: "cancelled by client"))
    }
}

/// Writes the requests of an upload or stream call.
///
/// Writes wait for room in the session's send buffer (back-pressure). After ``finish()``,
/// a cancellation, or a server cancel, writes fail and nothing more is sent on the stream.
///
/// A fake of a generated `ClientProtocol` creates one over its own ``RequestSink``
/// (``init(_:)``) to hand a test's requests to the code under test.
public struct RequestWriter<Input: RiverRequestPayload>: Sendable {
    /// Where the requests go: a live call, or a test's sink.
    private enum Backing: Sendable {
        case call(Call)
        case sink(any RequestSink<Input>)
    }

    private let backing: Backing

    init(call: Call) {
        self.backing = .call(call)
    }

    /// Creates a writer that hands everything to `sink` instead of a live call: for fakes of
    /// generated clients in tests.
    public init(_ sink: some RequestSink<Input>) {
        self.backing = .sink(sink)
    }

    /// Sends one request, waiting for room in the session's send buffer.
    /// - Throws: ``RiverError``: ``RiverError/Code/encodingFailure``,
    ///   ``RiverError/Code/payloadTooLarge``, or ``RiverError/Code/cancel`` when the request
    ///   side is closed.
    public func write(_ request: Input) async throws {
        switch backing {
        case .call(let call):
            let payload = try Call.encodePayload(request, what: "request")
            try await call.write(payload)
        case .sink(let sink):
            try await sink.write(request)
        }
    }

    /// Closes the request side (sends CLOSE). Idempotent; a no-op after a cancellation.
    public func finish() async throws {
        switch backing {
        case .call(let call): try call.finish()
        case .sink(let sink): try await sink.finish()
        }
    }

    /// Cancels the whole call: sends CANCEL once; the response side ends with
    /// ``RiverError/Code/cancel``.
    public func cancel() {
        switch backing {
        case .call(let call): call.cancel(RiverError(code: .cancel, message: "cancelled by client"))
        case .sink(let sink): sink.cancel()
        }
    }

    /// How many requests were written, and how many of those the server has acknowledged
    /// (for upload progress).
    public var progress: (sent: Int, acknowledged: Int) {
        switch backing {
        case .call(let call): call.progress
        case .sink(let sink): sink.progress
        }
    }

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
        switch backing {
        case .call(let call): await call.transport.waitUntilEnded(call.streamID)
        case .sink(let sink): await sink.ended()
        }
    }
}

/// The results of a subscription or stream call, in order.
///
/// Each element is a result: the output, or a service error the procedure declares (a stream
/// may yield an error and go on). The sequence ends when the server closes its side and
/// throws ``RiverError`` for protocol errors (server cancel, INVALID_REQUEST, lost session).
/// Iterate it once.
///
/// A fake of a generated `ClientProtocol` creates one from results of its own
/// (``init(_:onCancel:)``, ``init(_:thenThrowing:)``) to feed the code under test.
public struct ResponseStream<Output: RiverResponsePayload, ServiceError: RiverServiceFailure>: AsyncSequence, Sendable {
    /// One result.
    public typealias Element = Result<Output, ServiceError>

    /// Where the results come from: a live call, or a test's script.
    fileprivate enum Backing: Sendable {
        case call(Call)
        case scripted(AsyncThrowingStream<Element, any Error>, onCancel: @Sendable () -> Void)
    }

    fileprivate let backing: Backing

    init(call: Call) {
        self.backing = .call(call)
    }

    /// Creates a stream that yields what `results` yields instead of a live call's results,
    /// and ends or throws when it does: for fakes of generated clients in tests.
    /// - Parameters:
    ///   - results: The results to yield, in order.
    ///   - onCancel: Called by ``cancel()``.
    public init(_ results: AsyncThrowingStream<Element, any Error>, onCancel: @escaping @Sendable () -> Void = {}) {
        self.backing = .scripted(results, onCancel: onCancel)
    }

    /// Creates a stream that yields `results`, then ends, or throws `error` if one is given
    /// (a lost session, say): for fakes of generated clients in tests.
    public init(_ results: [Element], thenThrowing error: (any Error)? = nil) {
        let stream = AsyncThrowingStream<Element, any Error> { continuation in
            for result in results { continuation.yield(result) }
            continuation.finish(throwing: error)
        }
        self.init(stream)
    }

    /// Iterates the results.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private enum Source {
            case call(CallReader)
            case scripted(AsyncThrowingStream<Element, any Error>.AsyncIterator)
        }

        private var source: Source

        fileprivate init(_ backing: Backing) {
            switch backing {
            case .call(let call): source = .call(CallReader(call: call, interruptible: true))
            case .scripted(let results, _): source = .scripted(results.makeAsyncIterator())
            }
        }

        /// The next result, or `nil` when the server closed the stream.
        /// - Throws: ``RiverError`` for protocol errors and lost sessions.
        public mutating func next() async throws -> Element? {
            switch source {
            case .call(var reader):
                defer { source = .call(reader) }
                return try await reader.next(Output.self, ServiceError.self)
            case .scripted(var results):
                defer { source = .scripted(results) }
                return try await results.next()
            }
        }
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(backing)
    }

    /// Cancels the call: sends CANCEL once; iteration then ends with ``RiverError/Code/cancel``.
    public func cancel() {
        switch backing {
        case .call(let call): call.cancel(RiverError(code: .cancel, message: "cancelled by client"))
        case .scripted(_, let onCancel): onCancel()
        }
    }
}

public import River
public import SwiftProtobuf

/// Writes the request messages of a client- or bidi-streaming call.
///
/// Writes wait for room in the session's send buffer (back-pressure). After ``finish()``, a
/// cancellation, or a server cancel, writes fail and nothing more is sent on the stream.
///
/// A fake of a generated `ClientProtocol` creates one over its own ``RequestSink``
/// (``init(_:)``) to hand a test's requests to the code under test.
public struct ProtobufRequestWriter<Input: SwiftProtobuf.Message>: Sendable {
    /// Where the requests go: a live call, or a test's sink.
    private enum Backing: Sendable {
        case call(RawCall)
        case sink(any RequestSink<Input>)
    }

    private let backing: Backing

    init(call: RawCall) {
        self.backing = .call(call)
    }

    /// Creates a writer that hands everything to `sink` instead of a live call: for fakes of
    /// generated clients in tests.
    public init(_ sink: some RequestSink<Input>) {
        self.backing = .sink(sink)
    }

    /// Sends one request message, waiting for room in the session's send buffer.
    /// - Throws: ``ProtobufRPCError``: `ENCODING_FAILURE`, `PAYLOAD_TOO_LARGE`, or the error
    ///   that ended the call (``ProtobufRPCError/Code-swift.struct/cancel`` once closed).
    public func write(_ request: Input) async throws {
        switch backing {
        case .call(let call):
            let payload = try ProtobufPayload.encode(request, what: "request")
            try await ProtobufPayload.translatingErrors { try await call.write(payload) }
        case .sink(let sink):
            try await sink.write(request)
        }
    }

    /// Closes the request side (sends CLOSE). Idempotent; a no-op after a cancellation.
    /// - Throws: ``ProtobufRPCError`` when the session refuses the CLOSE.
    public func finish() async throws {
        switch backing {
        case .call(let call): try await ProtobufPayload.translatingErrors { try call.finish() }
        case .sink(let sink): try await sink.finish()
        }
    }

    /// Cancels the whole call: sends CANCEL once; reading ends with
    /// ``ProtobufRPCError/Code-swift.struct/cancel``.
    public func cancel() {
        switch backing {
        case .call(let call): call.cancel()
        case .sink(let sink): sink.cancel()
        }
    }

    /// How many requests were written, and how many of those the server has acknowledged.
    public var progress: (sent: Int, acknowledged: Int) {
        switch backing {
        case .call(let call): call.progress
        case .sink(let sink): sink.progress
        }
    }
}

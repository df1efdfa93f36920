import River
public import SwiftProtobuf

/// Writes the request messages of a client- or bidi-streaming call.
///
/// Writes wait for room in the session's send buffer (back-pressure). After ``finish()``, a
/// cancellation, or a server cancel, writes fail and nothing more is sent on the stream.
public struct ProtobufRequestWriter<Input: SwiftProtobuf.Message>: Sendable {
    let call: RawCall

    /// Sends one request message, waiting for room in the session's send buffer.
    /// - Throws: ``ProtobufRPCError``: `ENCODING_FAILURE`, `PAYLOAD_TOO_LARGE`, or the error
    ///   that ended the call (``ProtobufRPCError/Code-swift.struct/cancel`` once closed).
    public func write(_ request: Input) async throws {
        let payload = try ProtobufPayload.encode(request, what: "request")
        try await ProtobufPayload.translatingErrors { try await call.write(payload) }
    }

    /// Closes the request side (sends CLOSE). Idempotent; a no-op after a cancellation.
    /// - Throws: ``ProtobufRPCError`` when the session refuses the CLOSE.
    public func finish() async throws {
        try await ProtobufPayload.translatingErrors { try call.finish() }
    }

    /// Cancels the whole call: sends CANCEL once; reading ends with
    /// ``ProtobufRPCError/Code-swift.struct/cancel``.
    public func cancel() {
        call.cancel()
    }

    /// How many requests were written, and how many of those the server has acknowledged.
    public var progress: (sent: Int, acknowledged: Int) { call.progress }
}

import River
public import SwiftProtobuf

/// The response messages of a server- or bidi-streaming call, in order.
///
/// Iteration ends when the server closes its side. An error the server's handler sends is
/// thrown as ``ProtobufRPCError``; River lets a stream go on after one, so calling `next()`
/// again reads on. A cancel (by either side), a lost session or the deadline ends the stream
/// with a thrown ``ProtobufRPCError``. Iterate it once.
public struct ProtobufResponseStream<Output: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    /// One response message.
    public typealias Element = Output

    let call: RawCall

    /// Iterates the responses.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var reader: RawCall.Reader

        /// The next response, or `nil` once the server closed the stream.
        /// - Throws: ``ProtobufRPCError`` for an error the server sent or one that ended the call.
        public mutating func next() async throws -> Output? {
            let event: RawCall.Event?
            do {
                event = try await reader.next()
            } catch let error as RiverError {
                throw ProtobufRPCError(error)
            }
            guard let event else { return nil }
            return try ProtobufPayload.interpret(event, as: Output.self).get()
        }
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: call.makeReader(interruptible: true))
    }

    /// Cancels the call: sends CANCEL once; iteration then ends with
    /// ``ProtobufRPCError/Code-swift.struct/cancel``.
    public func cancel() {
        call.cancel()
    }
}

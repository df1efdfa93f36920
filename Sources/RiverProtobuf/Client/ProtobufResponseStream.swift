import River
public import SwiftProtobuf

/// The response messages of a server- or bidi-streaming call, in order.
///
/// Iteration ends when the server closes its side. An error the server's handler sends is
/// thrown as ``ProtobufRPCError``; River lets a stream go on after one, so calling `next()`
/// again reads on. A cancel (by either side), a lost session or the deadline ends the stream
/// with a thrown ``ProtobufRPCError``. Iterate it once.
///
/// A fake of a generated `ClientProtocol` creates one from messages of its own
/// (``init(_:onCancel:)``, ``init(_:thenThrowing:)``) to feed the code under test.
public struct ProtobufResponseStream<Output: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    /// One response message.
    public typealias Element = Output

    /// Where the responses come from: a live call, or a test's script.
    fileprivate enum Backing: Sendable {
        case call(RawCall)
        case scripted(AsyncThrowingStream<Output, any Error>, onCancel: @Sendable () -> Void)
    }

    fileprivate let backing: Backing

    init(call: RawCall) {
        self.backing = .call(call)
    }

    /// Creates a stream that yields what `responses` yields instead of a live call's
    /// responses, and ends or throws when it does: for fakes of generated clients in tests.
    /// - Parameters:
    ///   - responses: The messages to yield, in order.
    ///   - onCancel: Called by ``cancel()``.
    public init(_ responses: AsyncThrowingStream<Output, any Error>, onCancel: @escaping @Sendable () -> Void = {}) {
        self.backing = .scripted(responses, onCancel: onCancel)
    }

    /// Creates a stream that yields `responses`, then ends, or throws `error` if one is given
    /// (a ``ProtobufRPCError`` as a lost session gives, say): for fakes in tests.
    public init(_ responses: [Output], thenThrowing error: (any Error)? = nil) {
        let stream = AsyncThrowingStream<Output, any Error> { continuation in
            for response in responses { continuation.yield(response) }
            continuation.finish(throwing: error)
        }
        self.init(stream)
    }

    /// Iterates the responses.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private enum Source {
            case call(RawCall.Reader)
            case scripted(AsyncThrowingStream<Output, any Error>.AsyncIterator)
        }

        private var source: Source

        fileprivate init(_ backing: Backing) {
            switch backing {
            case .call(let call): source = .call(call.makeReader(interruptible: true))
            case .scripted(let responses, _): source = .scripted(responses.makeAsyncIterator())
            }
        }

        /// The next response, or `nil` once the server closed the stream.
        /// - Throws: ``ProtobufRPCError`` for an error the server sent or one that ended the call.
        public mutating func next() async throws -> Output? {
            switch source {
            case .call(var reader):
                defer { source = .call(reader) }
                return try await Self.next(from: &reader)
            case .scripted(var responses):
                defer { source = .scripted(responses) }
                return try await responses.next()
            }
        }

        private static func next(from reader: inout RawCall.Reader) async throws -> Output? {
            let event: RawCall.Event?
            do {
                event = try await reader.next()
            } catch {
                throw ProtobufRPCError(error)
            }
            guard let event else { return nil }
            return try ProtobufPayload.interpret(event, as: Output.self).get()
        }
    }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(backing)
    }

    /// Cancels the call: sends CANCEL once; iteration then ends with
    /// ``ProtobufRPCError/Code-swift.struct/cancel``.
    public func cancel() {
        switch backing {
        case .call(let call): call.cancel()
        case .scripted(_, let onCancel): onCancel()
        }
    }
}

/// A call's request as interceptors see it: the encoded init payload, and the transforms
/// applied to each request the caller writes and each result the server sends.
public struct RiverClientRequest: Sendable {
    /// The init payload, encoded (what the stream-open message carries).
    public var initPayload: RiverValue
    /// Applied to each request the caller writes (uploads and streams), before it is sent.
    private(set) var inputTransform: (@Sendable (RiverValue) throws -> RiverValue)?
    /// Applied to each result the server sends, before it is decoded.
    private(set) var resultTransform: (@Sendable (ResultEnvelope) throws -> ResultEnvelope)?

    /// Creates a request with no transforms.
    /// - Parameter initPayload: The encoded init payload.
    public init(initPayload: RiverValue) {
        self.initPayload = initPayload
    }

    /// Adds a transform applied to each request the caller writes, after the transforms added
    /// before it (so the outermost interceptor's sees the caller's request first). Throwing
    /// fails that write with the error.
    /// - Parameter transform: Observes or rewrites one encoded request.
    public mutating func transformInputs(_ transform: @escaping @Sendable (RiverValue) throws -> RiverValue) {
        guard let earlier = inputTransform else {
            inputTransform = transform
            return
        }
        inputTransform = { try transform(try earlier($0)) }
    }

    /// Adds a transform applied to each result the server sends, before the transforms added
    /// before it (so the outermost interceptor's sees the result last, as the caller will).
    /// Throwing fails the read with the error.
    /// - Parameter transform: Observes or rewrites one result (an output or a service error).
    public mutating func transformResults(_ transform: @escaping @Sendable (ResultEnvelope) throws -> ResultEnvelope) {
        guard let later = resultTransform else {
            resultTransform = transform
            return
        }
        resultTransform = { try later(try transform($0)) }
    }
}

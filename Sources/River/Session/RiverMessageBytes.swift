/// The bytes of one outbound message as the session hands them to a connection: an array of
/// their own, or a range of the session's send buffer shared without a copy.
///
/// A connection reads them (``withUnsafeBytes(_:)``) until it has framed them, and then drops
/// the value; holding it keeps the memory it points into alive, never the rest of the buffer
/// writable.
public struct RiverMessageBytes: Sendable {
    private enum Storage: Sendable {
        case array([UInt8])
        /// 32-bit offset and count keep the value at 16 bytes (a connection queues many); the
        /// send buffer refuses larger messages.
        case buffer(SendBufferChunk, offset: UInt32, count: UInt32)
    }

    private let storage: Storage

    /// Wraps `bytes` (no copy).
    public init(_ bytes: [UInt8]) {
        storage = .array(bytes)
    }

    /// `count` bytes at `offset` of `chunk`, which are never written again while this value lives.
    init(chunk: SendBufferChunk, offset: Int, count: Int) {
        storage = .buffer(chunk, offset: UInt32(offset), count: UInt32(count))
    }

    /// The number of bytes.
    public var count: Int {
        switch storage {
        case .array(let bytes): bytes.count
        case .buffer(_, _, let count): Int(count)
        }
    }

    /// Calls `body` with the bytes; the pointer is valid only inside `body`.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        switch storage {
        case .array(let bytes):
            // `Array.withUnsafeBytes` rethrows untyped; the closure's typed error is kept here.
            let outcome = bytes.withUnsafeBytes { pointer in Swift.Result { () throws(Failure) in try body(pointer) } }
            return try outcome.get()
        case .buffer(let chunk, let offset, let count):
            return try body(UnsafeRawBufferPointer(start: chunk.base + Int(offset), count: Int(count)))
        }
    }

    /// The block these bytes lie in when they start it and this was the only reference to
    /// it (then nobody else reads it: it can be written again), else `nil`.
    consuming func takeSoleChunk() -> SendBufferChunk? {
        guard case .buffer(var chunk, 0, _) = storage else { return nil }
        self = Self.empty
        return isKnownUniquelyReferenced(&chunk) ? chunk : nil
    }

    private static let empty = RiverMessageBytes([])

    /// The bytes as an array (a copy, unless this value was made from an array).
    public var bytes: [UInt8] {
        switch storage {
        case .array(let bytes): bytes
        case .buffer: withUnsafeBytes { Array($0) }
        }
    }
}

extension RiverMessageBytes: Equatable {
    /// Equal when the bytes are, wherever they are stored.
    public static func == (lhs: RiverMessageBytes, rhs: RiverMessageBytes) -> Bool {
        lhs.withUnsafeBytes { left in rhs.withUnsafeBytes { right in left.elementsEqual(right) } }
    }
}

/// Turns ``TransportMessage``s into WebSocket frame bytes and back.
///
/// The codec is not negotiated on the wire: client and server must be configured alike.
/// Implementations: ``JSONCodec`` (the reference default) and ``MessagePackCodec``.
public protocol RiverCodec: Sendable {
    /// A short name for logs and the CLI (`json`, `msgpack`).
    var name: String { get }

    /// Encodes one message into the bytes of one binary frame.
    /// - Throws: ``RiverCodecError`` when the message cannot be represented.
    func encode(_ message: TransportMessage) throws(RiverCodecError) -> [UInt8]

    /// Decodes and validates one frame.
    /// - Throws: ``RiverCodecError`` for malformed bytes, a missing or wrongly typed field,
    ///   or a size beyond the codec's limits. Never traps on hostile input.
    func decode(_ bytes: [UInt8]) throws(RiverCodecError) -> TransportMessage
}

/// A frame or value that a codec could not encode or decode.
public struct RiverCodecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, naming the field or offset when known.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}


/// River's binary codec (the reference's `BinaryCodec`, `@msgpack/msgpack`), written in Swift.
///
/// Conventions, matching the reference implementation:
/// - Strings as `str`, bytes as `bin`, doubles as float64, integers in the smallest integer
///   format, dates as the timestamp extension (type −1; timestamp 32, 64 and 96 decode).
/// - Big integers as extension type 0 whose body is msgpack of the number when it is within
///   ±(2^53−1), else msgpack of its decimal string.
/// - An unsigned integer above `Int64.max` decodes as ``RiverValue/bigInt(_:)`` (exact),
///   where the reference would read a lossy JavaScript number.
/// - Map keys must be strings. Other extension types are an error.
/// - Decoding validates the frame's structure first: truncation, trailing bytes, a count or
///   length beyond the bytes that are left (no large allocation from a lying header) and
///   nesting deeper than 32 containers are errors. Values are then read straight from the
///   frame's bytes (``MessagePackReader``), in one pass.
/// - Encoding counts a message's bytes first and writes them into one array of exactly that
///   size (``MessagePackWriter``); formats are chosen as msgpack-c's packer chooses them.
///
/// The codec is a stateless value, safe to use from many threads at once.
public struct MessagePackCodec: RiverCodec {
    /// Creates the codec.
    public init() {}

    /// `msgpack`.
    public var name: String { "msgpack" }

    /// Encodes `message` as a msgpack map, leaving out `nil` optional fields.
    /// - Parameter message: The message to encode.
    /// - Returns: The bytes of one frame.
    /// - Throws: ``RiverCodecError`` for a malformed big integer, a date out of range or
    ///   nesting deeper than 32 containers (the decoder's limit).
    public func encode(_ message: TransportMessage) throws(RiverCodecError) -> [UInt8] {
        try MessagePackEnvelopePart(message: message, keys: EnvelopeKey.order(for: message)[...], withHeader: true)
            .messagePackBytes()
    }

    /// ``encode(_:)``, except that a message too large for the encoder's stack buffer is
    /// written into the memory `largeStorage` returns for its size, unless that returns `nil`.
    func encode(
        _ message: TransportMessage, largeStorage: (Int) -> UnsafeMutableRawPointer?
    ) throws(RiverCodecError) -> MessagePackOutput {
        try MessagePackEnvelopePart(message: message, keys: EnvelopeKey.order(for: message)[...], withHeader: true)
            .messagePack(extraCapacity: 0, largeStorage: largeStorage)
    }

    /// Decodes and validates one msgpack frame.
    /// - Parameter bytes: The frame's bytes.
    /// - Returns: The message.
    /// - Throws: ``RiverCodecError`` for malformed msgpack or an envelope field that is
    ///   missing or has the wrong type (naming the field).
    public func decode(_ bytes: [UInt8]) throws(RiverCodecError) -> TransportMessage {
        try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(RiverCodecError) -> TransportMessage in
            let raw = UnsafeRawBufferPointer(buffer)
            try MessagePackScanner.validate(raw)
            var reader = MessagePackReader(raw)
            guard let count = try reader.mapHeader() else {
                throw RiverCodecError("msgpack: a message must be a map, got \(MessagePackReader.kindName(try reader.peek()))")
            }
            var builder = EnvelopeBuilder(codecName: "msgpack")
            for _ in 0..<count {
                guard let key = try reader.stringBytes() else {
                    throw RiverCodecError("msgpack: map keys must be strings, got \(MessagePackReader.kindName(try reader.peek()))")
                }
                guard let known = EnvelopeKey.lookup(utf8: key) else {
                    // Unknown keys are ignored, but must still be well formed.
                    _ = try MessagePackReader.string(key)
                    _ = try reader.value(depth: 1)
                    continue
                }
                // Fast paths for well-typed fields (no RiverValue in between); anything else
                // goes through `set`, which also names the field in type errors.
                switch known {
                case .tracing:
                    if let tracing = try reader.tracing() {
                        builder.setTracing(tracing)
                        continue
                    }
                case .id, .from, .to, .streamId, .serviceName, .procedureName:
                    if let string = try reader.string() {
                        builder.setString(known, string)
                        continue
                    }
                case .seq, .ack, .controlFlags, .payload:
                    break
                }
                try builder.set(known, reader.value(depth: 1))
            }
            return try builder.build()
        }
    }

    /// Encodes a single value as msgpack with River's conventions (no envelope).
    /// - Parameter value: The value.
    /// - Returns: The msgpack bytes.
    /// - Throws: ``RiverCodecError`` as ``encode(_:)`` does.
    public func encodeValue(_ value: RiverValue) throws(RiverCodecError) -> [UInt8] {
        try value.messagePackBytes()
    }

    /// Decodes a single msgpack value with River's conventions (no envelope).
    /// - Parameter bytes: Exactly one msgpack value.
    /// - Returns: The value.
    /// - Throws: ``RiverCodecError`` for malformed msgpack.
    public func decodeValue(_ bytes: [UInt8]) throws(RiverCodecError) -> RiverValue {
        try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(RiverCodecError) -> RiverValue in
            let raw = UnsafeRawBufferPointer(buffer)
            try MessagePackScanner.validate(raw)
            var reader = MessagePackReader(raw)
            return try reader.value(depth: 0)
        }
    }
}

extension MessagePackCodec: SeqAckSplitEncoding {
    func encodeAroundSeqAck(_ message: TransportMessage) throws(RiverCodecError) -> (head: [UInt8], tail: [UInt8]) {
        let (head, tail) = try encodeAroundSeqAck(message, largeHead: { _ in nil })
        guard case .bytes(let bytes) = head else { return ([], tail) }
        return (bytes, tail)
    }

    /// ``encodeAroundSeqAck(_:)``, except that a head too large for the encoder's stack
    /// buffer is written into the memory `largeHead` returns for it (called with the head's
    /// size plus room for the seq, the ack and the tail), unless that returns `nil`.
    func encodeAroundSeqAck(
        _ message: TransportMessage, largeHead: (Int) -> UnsafeMutableRawPointer?
    ) throws(RiverCodecError) -> (head: MessagePackOutput, tail: [UInt8]) {
        let (before, after) = EnvelopeKey.aroundSeqAck(EnvelopeKey.order(for: message))
        let tail = try MessagePackEnvelopePart(message: message, keys: after, withHeader: false).messagePackBytes()
        let head = try MessagePackEnvelopePart(message: message, keys: before, withHeader: true)
            .messagePack(extraCapacity: Self.maximumSeqAckBytes + tail.count, largeStorage: largeHead)
        return (head, tail)
    }

    /// `seq` and `ack` keys (4 bytes each) with 64-bit values (9 bytes each) at their longest.
    private static let maximumSeqAckBytes = 26

    /// Writes the two keys and integers exactly as ``encode(_:)`` does (the same
    /// ``MessagePackFormat`` code), appended in place.
    func appendSeqAck(seq: Int, ack: Int, to bytes: inout [UInt8]) {
        var sink = MessagePackAppender()
        swap(&sink.bytes, &bytes)
        MessagePackFormat.write(&sink, staticString: "seq")
        MessagePackFormat.write(&sink, int: Int64(seq))
        MessagePackFormat.write(&sink, staticString: "ack")
        MessagePackFormat.write(&sink, int: Int64(ack))
        swap(&sink.bytes, &bytes)
    }
}

// MARK: - Encoding

/// The envelope fields of `message` named in `keys` (those it has), in that order, optionally
/// preceded by the header of the map holding all of the message's fields.
struct MessagePackEnvelopePart: MessagePackWritable {
    let message: TransportMessage
    let keys: ArraySlice<EnvelopeKey>
    let withHeader: Bool

    func write<S: MessagePackSink>(to sink: inout S) throws(RiverCodecError) {
        if withHeader { MessagePackFormat.writeMapHeader(&sink, count: message.encodedKeyCount) }
        for key in keys where message.has(key) {
            MessagePackFormat.write(&sink, staticString: key.staticName)
            switch key {
            case .id: MessagePackFormat.write(&sink, string: message.id)
            case .from: MessagePackFormat.write(&sink, string: message.from)
            case .to: MessagePackFormat.write(&sink, string: message.to)
            case .seq: MessagePackFormat.write(&sink, int: Int64(message.seq))
            case .ack: MessagePackFormat.write(&sink, int: Int64(message.ack))
            case .streamId: MessagePackFormat.write(&sink, string: message.streamId)
            case .controlFlags: MessagePackFormat.write(&sink, int: Int64(message.controlFlags.rawValue))
            case .payload: try MessagePackFormat.write(&sink, value: message.payload, depth: 1)
            case .serviceName: MessagePackFormat.write(&sink, string: message.serviceName ?? "")
            case .procedureName: MessagePackFormat.write(&sink, string: message.procedureName ?? "")
            case .tracing:
                let tracing = message.tracing ?? .empty
                MessagePackFormat.writeMapHeader(&sink, count: 2)
                MessagePackFormat.write(&sink, staticString: "traceparent")
                MessagePackFormat.write(&sink, string: tracing.traceparent)
                MessagePackFormat.write(&sink, staticString: "tracestate")
                MessagePackFormat.write(&sink, string: tracing.tracestate)
            }
        }
    }
}

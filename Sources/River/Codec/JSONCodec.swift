/// River's JSON codec (the reference's `NaiveJsonCodec`): each message is the UTF-8 JSON
/// text of the whole envelope.
///
/// Conventions, matching the reference implementation:
/// - Bytes travel as `{"$t": "<padded base64>"}` (empty bytes as `{"$t": ""}`), big integers
///   as `{"$b": "<decimal>"}`. Any object whose only key is `$t` or `$b` with a string
///   value decodes as bytes or a big integer; invalid base64 or a non-decimal `$b` is an error.
/// - Integral numbers that fit in 64 bits decode as ``RiverValue/int(_:)``; every other
///   number (a fraction, an exponent, or too large) as ``RiverValue/double(_:)``. Doubles
///   encode in the shortest form that reads back exactly, integral ones with a `.0`, so a
///   ``RiverValue/double(_:)`` survives a round trip as a double.
/// - Dates encode as ISO 8601 text with millisecond precision (`2024-01-02T03:04:05.678Z`),
///   exactly what `JSON.stringify` makes of a JavaScript `Date`. JSON has no date type, so
///   they decode as ``RiverValue/string(_:)``; ``RiverValueDecoder`` turns such a string back
///   into a `Date` when the target type asks for one.
/// - NaN and infinities cannot be encoded (an error, where `JSON.stringify` would write `null`).
/// - Object keys are written sorted; envelope keys in the reference's order.
/// - Decoding rejects invalid UTF-8, trailing characters and nesting deeper than 512.
public struct JSONCodec: RiverCodec {
    /// Creates the codec.
    public init() {}

    /// `json`.
    public var name: String { "json" }

    /// Encodes `message` as JSON text, leaving out `nil` optional fields.
    /// - Parameter message: The message to encode.
    /// - Returns: The UTF-8 bytes of one frame.
    /// - Throws: ``RiverCodecError`` when the payload holds NaN, an infinity, a malformed big
    ///   integer or nesting deeper than 512.
    public func encode(_ message: TransportMessage) throws(RiverCodecError) -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.byte(UInt8(ascii: "{"))
        var first = true
        try Self.writeFields(&writer, message, EnvelopeKey.order(for: message), first: &first)
        writer.byte(UInt8(ascii: "}"))
        return writer.out
    }

    /// Writes the keys and values of `message` named in `keys` (those it has), in that order,
    /// each after a comma unless it is the object's `first`.
    private static func writeFields(
        _ writer: inout JSONWriter, _ message: TransportMessage, _ keys: some Sequence<EnvelopeKey>, first: inout Bool
    ) throws(RiverCodecError) {
        for key in keys where message.has(key) {
            if !first { writer.byte(UInt8(ascii: ",")) }
            first = false
            writer.byte(UInt8(ascii: "\""))
            writer.ascii(key.staticName)
            writer.ascii("\":")
            switch key {
            case .id: writer.string(message.id)
            case .from: writer.string(message.from)
            case .to: writer.string(message.to)
            case .seq: writer.integer(Int64(message.seq))
            case .ack: writer.integer(Int64(message.ack))
            case .streamId: writer.string(message.streamId)
            case .controlFlags: writer.integer(Int64(message.controlFlags.rawValue))
            case .payload: try writer.value(message.payload, depth: 1)
            case .serviceName: writer.string(message.serviceName ?? "")
            case .procedureName: writer.string(message.procedureName ?? "")
            case .tracing:
                let tracing = message.tracing ?? .empty
                writer.ascii("{\"traceparent\":")
                writer.string(tracing.traceparent)
                writer.ascii(",\"tracestate\":")
                writer.string(tracing.tracestate)
                writer.byte(UInt8(ascii: "}"))
            }
        }
    }

    /// Decodes and validates one frame of JSON text.
    /// - Parameter bytes: The frame's bytes.
    /// - Returns: The message.
    /// - Throws: ``RiverCodecError`` for malformed JSON (with the byte offset) or an envelope
    ///   field that is missing or has the wrong type (naming the field).
    public func decode(_ bytes: [UInt8]) throws(RiverCodecError) -> TransportMessage {
        var builder = EnvelopeBuilder(codecName: "json")
        do {
            try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(RiverCodecError) in
                var reader = JSONReader(buffer)
                try reader.envelope(into: &builder)
            }
        }
        return try builder.build()
    }

    /// Encodes a single value as JSON text with River's conventions (no envelope).
    /// - Parameter value: The value.
    /// - Returns: UTF-8 JSON text.
    /// - Throws: ``RiverCodecError`` as ``encode(_:)`` does.
    public func encodeValue(_ value: RiverValue) throws(RiverCodecError) -> [UInt8] {
        var writer = JSONWriter(capacity: 64)
        try writer.value(value)
        return writer.out
    }

    /// Decodes a single JSON value with River's conventions (no envelope).
    /// - Parameter bytes: UTF-8 JSON text holding exactly one value.
    /// - Returns: The value.
    /// - Throws: ``RiverCodecError`` for malformed JSON.
    public func decodeValue(_ bytes: [UInt8]) throws(RiverCodecError) -> RiverValue {
        try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(RiverCodecError) -> RiverValue in
            var reader = JSONReader(buffer)
            let value = try reader.value(depth: 0)
            try reader.finish()
            return value
        }
    }
}

extension JSONCodec: SeqAckSplitEncoding {
    /// The tail of a message whose `ack` is its last key (one shared array, not one per message).
    private static let closingBrace: [UInt8] = [UInt8(ascii: "}")]

    func encodeAroundSeqAck(_ message: TransportMessage) throws(RiverCodecError) -> (head: [UInt8], tail: [UInt8]) {
        let (before, after) = EnvelopeKey.aroundSeqAck(EnvelopeKey.order(for: message))
        var tail = Self.closingBrace
        if !after.isEmpty {
            var writer = JSONWriter(capacity: 64)
            var first = false
            try Self.writeFields(&writer, message, after, first: &first)
            writer.byte(UInt8(ascii: "}"))
            tail = writer.out
        }
        var head = JSONWriter(capacity: 256)
        head.byte(UInt8(ascii: "{"))
        var first = true
        try Self.writeFields(&head, message, before, first: &first)
        if !first { head.byte(UInt8(ascii: ",")) }
        // Copied to its exact size (the writer grows by doubling): the send buffer holds it.
        let count = head.out.count
        let bytes = [UInt8](unsafeUninitializedCapacity: count + Self.maximumSeqAckBytes + tail.count) { buffer, initialized in
            head.out.withUnsafeBufferPointer { source in
                guard let target = buffer.baseAddress, let origin = source.baseAddress else { return }
                target.update(from: origin, count: count)
                initialized = count
            }
        }
        return (bytes, tail)
    }

    /// `"seq":` and `,"ack":` with 20-character values at their longest.
    private static let maximumSeqAckBytes = 53

    func appendSeqAck(seq: Int, ack: Int, to bytes: inout [UInt8]) {
        // The writer takes the array over (no copy) and gives it back.
        var writer = JSONWriter(capacity: 0)
        swap(&writer.out, &bytes)
        defer { swap(&writer.out, &bytes) }
        writer.ascii("\"seq\":")
        writer.integer(Int64(seq))
        writer.ascii(",\"ack\":")
        writer.integer(Int64(ack))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The envelope keys of a ``TransportMessage`` in the order the reference implementation
/// writes them, chosen per message kind. Both codecs share it so their output matches the
/// recorded traffic key for key.
enum EnvelopeKey: UInt8 {
    case id, from, to, seq, ack, streamId, controlFlags, payload, serviceName, procedureName, tracing

    /// The key as it appears on the wire.
    var name: String { staticName.description }

    /// Handshake messages: `id, from, to, seq, ack, streamId, controlFlags, [tracing], payload`.
    static let handshakeOrder: [EnvelopeKey] = [.id, .from, .to, .seq, .ack, .streamId, .controlFlags, .tracing, .payload]
    /// Stream-open messages: `streamId, serviceName, procedureName, tracing, payload, controlFlags, id, to, from, seq, ack`.
    static let openOrder: [EnvelopeKey] = [
        .streamId, .serviceName, .procedureName, .tracing, .payload, .controlFlags, .id, .to, .from, .seq, .ack,
    ]
    /// Everything else: `streamId, controlFlags, payload, id, to, from, seq, ack`.
    /// Optional fields a caller set anyway follow, in a fixed order.
    static let otherOrder: [EnvelopeKey] = [
        .streamId, .controlFlags, .payload, .id, .to, .from, .seq, .ack, .serviceName, .procedureName, .tracing,
    ]

    /// The key order for `message`: open order when `serviceName` is present, handshake order
    /// when the payload's `type` starts with `HANDSHAKE_`, else the data order.
    static func order(for message: TransportMessage) -> [EnvelopeKey] {
        // A handshake carries no service name: an open message needs no payload lookup.
        if message.serviceName == nil, case .object(let fields) = message.payload,
            case .string(let type)? = fields["type"], type.utf8.starts(with: "HANDSHAKE_".utf8)
        {
            return handshakeOrder
        }
        return message.serviceName != nil ? openOrder : otherOrder
    }

    /// Looks a wire key up from its UTF-8 bytes without making a string; `nil` for keys the
    /// envelope does not define (they are ignored).
    static func lookup(utf8 key: UnsafeRawBufferPointer) -> EnvelopeKey? {
        let count = key.count
        guard count >= 2, count <= 13 else { return nil }
        @inline(__always) func matches(_ name: StaticString) -> Bool {
            guard name.utf8CodeUnitCount == count, let base = key.baseAddress else { return false }
            return memcmp(base, name.utf8Start, count) == 0
        }
        let candidate: EnvelopeKey
        switch (count, key[0]) {
        case (2, UInt8(ascii: "i")): candidate = .id
        case (2, UInt8(ascii: "t")): candidate = .to
        case (3, UInt8(ascii: "s")): candidate = .seq
        case (3, UInt8(ascii: "a")): candidate = .ack
        case (4, _): candidate = .from
        case (7, UInt8(ascii: "p")): candidate = .payload
        case (7, UInt8(ascii: "t")): candidate = .tracing
        case (8, _): candidate = .streamId
        case (11, _): candidate = .serviceName
        case (12, _): candidate = .controlFlags
        case (13, _): candidate = .procedureName
        default: return nil
        }
        return matches(candidate.staticName) ? candidate : nil
    }

    /// Looks a wire key up; `nil` for keys the envelope does not define (they are ignored).
    static func lookup(_ key: String) -> EnvelopeKey? {
        switch key {
        case "id": .id
        case "from": .from
        case "to": .to
        case "seq": .seq
        case "ack": .ack
        case "streamId": .streamId
        case "controlFlags": .controlFlags
        case "payload": .payload
        case "serviceName": .serviceName
        case "procedureName": .procedureName
        case "tracing": .tracing
        default: nil
        }
    }
}

extension TransportMessage {
    /// Whether `key`'s field is present (the optional ones may be `nil`).
    func has(_ key: EnvelopeKey) -> Bool {
        switch key {
        case .serviceName: serviceName != nil
        case .procedureName: procedureName != nil
        case .tracing: tracing != nil
        default: true
        }
    }

    /// The number of keys the encoded envelope has.
    var encodedKeyCount: Int {
        8 + (serviceName != nil ? 1 : 0) + (procedureName != nil ? 1 : 0) + (tracing != nil ? 1 : 0)
    }
}

/// Collects decoded envelope fields one key at a time and validates them into a
/// ``TransportMessage``. Later duplicates of a key win, like `JSON.parse`.
struct EnvelopeBuilder {
    /// Prefix of every error message (`json` or `msgpack`).
    let codecName: StaticString
    /// The message being filled in; `present` says which fields were actually seen.
    private var message = TransportMessage(
        id: "", from: "", to: "", seq: 0, ack: 0, streamId: "", controlFlags: [], payload: .null)
    private var present: UInt16 = 0

    init(codecName: StaticString) { self.codecName = codecName }

    private func error(_ text: String) -> RiverCodecError {
        RiverCodecError("\(codecName): \(text)")
    }

    private func wrongType(_ key: EnvelopeKey, _ expected: String, _ value: RiverValue) -> RiverCodecError {
        if case .null = value {
            return error("field '\(key.name)' is null; it must be \(expected) (optional fields are omitted, never null)")
        }
        return error("field '\(key.name)' must be \(expected), got \(value.kindName)")
    }

    private func string(_ value: RiverValue, _ key: EnvelopeKey) throws(RiverCodecError) -> String {
        guard case .string(let s) = value else { throw wrongType(key, "a string", value) }
        return s
    }

    private func integer(_ value: RiverValue, _ key: EnvelopeKey, nonNegative: Bool) throws(RiverCodecError) -> Int {
        let result: Int?
        switch value {
        case .int(let i): result = Int(exactly: i)
        case .double(let d): result = d.rounded(.towardZero) == d ? Int(exactly: d) : nil
        default: result = nil
        }
        guard let result else { throw wrongType(key, "an integer", value) }
        if nonNegative && result < 0 {
            throw error("field '\(key.name)' must be a non-negative integer, got \(result)")
        }
        return result
    }

    /// Records one decoded `key: value` pair.
    /// - Throws: ``RiverCodecError`` naming the field when the value has the wrong type.
    mutating func set(_ key: EnvelopeKey, _ value: RiverValue) throws(RiverCodecError) {
        switch key {
        case .id: message.id = try string(value, key)
        case .from: message.from = try string(value, key)
        case .to: message.to = try string(value, key)
        case .streamId: message.streamId = try string(value, key)
        case .serviceName: message.serviceName = try string(value, key)
        case .procedureName: message.procedureName = try string(value, key)
        case .seq: message.seq = try integer(value, key, nonNegative: true)
        case .ack: message.ack = try integer(value, key, nonNegative: true)
        case .controlFlags: message.controlFlags = ControlFlags(rawValue: try integer(value, key, nonNegative: false))
        case .payload: message.payload = value
        case .tracing:
            guard case .object(let fields) = value else { throw wrongType(key, "an object", value) }
            guard case .string(let parent)? = fields["traceparent"] else {
                throw error("field 'tracing.traceparent' must be a string, got \(fields["traceparent"]?.kindName ?? "nothing")")
            }
            guard case .string(let state)? = fields["tracestate"] else {
                throw error("field 'tracing.tracestate' must be a string, got \(fields["tracestate"]?.kindName ?? "nothing")")
            }
            message.tracing = TracingContext(traceparent: parent, tracestate: state)
        }
        present |= 1 << key.rawValue
    }

    /// Records a string field already known to be a string (a fast path without a RiverValue).
    /// `key` must be one of the string fields.
    mutating func setString(_ key: EnvelopeKey, _ value: String) {
        switch key {
        case .id: message.id = value
        case .from: message.from = value
        case .to: message.to = value
        case .streamId: message.streamId = value
        case .serviceName: message.serviceName = value
        case .procedureName: message.procedureName = value
        case .seq, .ack, .controlFlags, .payload, .tracing: return
        }
        present |= 1 << key.rawValue
    }

    /// Records a non-negative integer field (a fast path without a RiverValue). `key` must be
    /// `seq`, `ack` or `controlFlags`.
    mutating func setInteger(_ key: EnvelopeKey, _ value: Int) {
        switch key {
        case .seq: message.seq = value
        case .ack: message.ack = value
        case .controlFlags: message.controlFlags = ControlFlags(rawValue: value)
        case .id, .from, .to, .streamId, .serviceName, .procedureName, .payload, .tracing: return
        }
        present |= 1 << key.rawValue
    }

    /// Records an already validated trace context (a fast path that skips building a map).
    mutating func setTracing(_ context: TracingContext) {
        message.tracing = context
        present |= 1 << EnvelopeKey.tracing.rawValue
    }

    /// Records a key given as a string; unknown keys are ignored.
    mutating func set(_ key: String, _ value: RiverValue) throws(RiverCodecError) {
        guard let known = EnvelopeKey.lookup(key) else { return }
        try set(known, value)
    }

    /// The required keys, in the order missing ones are reported.
    private static let required: [EnvelopeKey] = [.id, .from, .to, .seq, .ack, .streamId, .controlFlags, .payload]
    private static let requiredMask: UInt16 = required.reduce(0) { $0 | 1 << $1.rawValue }

    /// The validated message.
    /// - Throws: ``RiverCodecError`` naming the first missing required field.
    consuming func build() throws(RiverCodecError) -> TransportMessage {
        if present & Self.requiredMask != Self.requiredMask {
            for key in Self.required where present & (1 << key.rawValue) == 0 {
                throw error("missing field '\(key.name)'")
            }
        }
        return message
    }
}

/// A quick ASCII test, eight bytes at a time.
enum UTF8Check {
    @inline(__always)
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        let raw = UnsafeRawPointer(base)
        while i + 8 <= count {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < count {
            if base[i] >= 0x80 { return false }
            i += 1
        }
        return true
    }
}

extension EnvelopeKey {
    /// The key as static text (no string allocation when written).
    var staticName: StaticString {
        switch self {
        case .id: "id"
        case .from: "from"
        case .to: "to"
        case .seq: "seq"
        case .ack: "ack"
        case .streamId: "streamId"
        case .controlFlags: "controlFlags"
        case .payload: "payload"
        case .serviceName: "serviceName"
        case .procedureName: "procedureName"
        case .tracing: "tracing"
        }
    }
}

import CMsgPack
import Foundation
import Synchronization

/// River's binary codec (the reference's `BinaryCodec`, `@msgpack/msgpack`), built on msgpack-c.
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
///   nesting deeper than msgpack-c's fixed parser stack (32) are errors.
///
/// The codec is a stateless value; decoding reuses msgpack-c zones from a small pool guarded
/// by a mutex, so it is safe to use from many threads at once.
public struct MessagePackCodec: RiverCodec {
    /// Creates the codec.
    public init() {}

    /// `msgpack`.
    public var name: String { "msgpack" }

    /// Encodes `message` as a msgpack map, leaving out `nil` optional fields.
    /// - Parameter message: The message to encode.
    /// - Returns: The bytes of one frame.
    /// - Throws: ``RiverCodecError`` for a malformed big integer or nesting deeper than
    ///   msgpack-c can read back.
    public func encode(_ message: TransportMessage) throws(RiverCodecError) -> [UInt8] {
        var packer = MessagePackPacker()
        defer { packer.release() }
        try packer.withPacker { (pk: UnsafeMutablePointer<msgpack_packer>) throws(RiverCodecError) in
            msgpack_pack_map(pk, message.encodedKeyCount)
            try Self.packFields(pk, message, EnvelopeKey.order(for: message))
        }
        return packer.bytes()
    }

    /// Packs the keys and values of `message` named in `keys` (those it has), in that order.
    private static func packFields(
        _ pk: UnsafeMutablePointer<msgpack_packer>, _ message: TransportMessage, _ keys: some Sequence<EnvelopeKey>
    ) throws(RiverCodecError) {
        for key in keys where message.has(key) {
            MessagePackPacker.packStatic(pk, key.staticName)
            switch key {
            case .id: MessagePackPacker.pack(pk, message.id)
            case .from: MessagePackPacker.pack(pk, message.from)
            case .to: MessagePackPacker.pack(pk, message.to)
            case .seq: msgpack_pack_int64(pk, Int64(message.seq))
            case .ack: msgpack_pack_int64(pk, Int64(message.ack))
            case .streamId: MessagePackPacker.pack(pk, message.streamId)
            case .controlFlags: msgpack_pack_int64(pk, Int64(message.controlFlags.rawValue))
            case .payload: try MessagePackPacker.pack(pk, message.payload, depth: 1)
            case .serviceName: MessagePackPacker.pack(pk, message.serviceName ?? "")
            case .procedureName: MessagePackPacker.pack(pk, message.procedureName ?? "")
            case .tracing:
                let tracing = message.tracing ?? .empty
                msgpack_pack_map(pk, 2)
                MessagePackPacker.packStatic(pk, "traceparent")
                MessagePackPacker.pack(pk, tracing.traceparent)
                MessagePackPacker.packStatic(pk, "tracestate")
                MessagePackPacker.pack(pk, tracing.tracestate)
            }
        }
    }

    /// Decodes and validates one msgpack frame.
    /// - Parameter bytes: The frame's bytes.
    /// - Returns: The message.
    /// - Throws: ``RiverCodecError`` for malformed msgpack or an envelope field that is
    ///   missing or has the wrong type (naming the field).
    public func decode(_ bytes: [UInt8]) throws(RiverCodecError) -> TransportMessage {
        var builder = EnvelopeBuilder(codecName: "msgpack")
        try MessagePackUnpacker.unpack(bytes) { (object: msgpack_object) throws(RiverCodecError) in
            guard object.type == MSGPACK_OBJECT_MAP else {
                throw RiverCodecError("msgpack: a message must be a map, got \(MessagePackUnpacker.kindName(object))")
            }
            let map = object.via.map
            guard let kvs = map.ptr else { return }
            for i in 0..<Int(map.size) {
                let keyObject = kvs[i].key
                guard keyObject.type == MSGPACK_OBJECT_STR else {
                    throw RiverCodecError("msgpack: map keys must be strings, got \(MessagePackUnpacker.kindName(keyObject))")
                }
                let str = keyObject.via.str
                let raw = UnsafeRawBufferPointer(start: str.ptr, count: Int(str.size))
                guard let known = EnvelopeKey.lookup(utf8: raw) else {
                    // Unknown keys are ignored, but must still be well formed.
                    _ = try MessagePackUnpacker.key(keyObject)
                    _ = try MessagePackUnpacker.value(kvs[i].val, depth: 1)
                    continue
                }
                let value = kvs[i].val
                // Fast paths for well-typed fields (no RiverValue in between); anything else
                // goes through `set`, which also names the field in type errors.
                switch (known, value.type) {
                case (.tracing, _):
                    if let tracing = try MessagePackUnpacker.tracing(value) {
                        builder.setTracing(tracing)
                        continue
                    }
                case (.id, MSGPACK_OBJECT_STR), (.from, MSGPACK_OBJECT_STR), (.to, MSGPACK_OBJECT_STR),
                    (.streamId, MSGPACK_OBJECT_STR), (.serviceName, MSGPACK_OBJECT_STR),
                    (.procedureName, MSGPACK_OBJECT_STR):
                    builder.setString(known, try MessagePackUnpacker.string(value.via.str))
                    continue
                case (.seq, MSGPACK_OBJECT_POSITIVE_INTEGER), (.ack, MSGPACK_OBJECT_POSITIVE_INTEGER),
                    (.controlFlags, MSGPACK_OBJECT_POSITIVE_INTEGER):
                    if value.via.u64 <= UInt64(Int.max) {
                        builder.setInteger(known, Int(value.via.u64))
                        continue
                    }
                default:
                    break
                }
                try builder.set(known, MessagePackUnpacker.value(value, depth: 1))
            }
        }
        return try builder.build()
    }

    /// Encodes a single value as msgpack with River's conventions (no envelope).
    /// - Parameter value: The value.
    /// - Returns: The msgpack bytes.
    /// - Throws: ``RiverCodecError`` as ``encode(_:)`` does.
    public func encodeValue(_ value: RiverValue) throws(RiverCodecError) -> [UInt8] {
        var packer = MessagePackPacker()
        defer { packer.release() }
        try packer.withPacker { (pk: UnsafeMutablePointer<msgpack_packer>) throws(RiverCodecError) in
            try MessagePackPacker.pack(pk, value, depth: 0)
        }
        return packer.bytes()
    }

    /// Decodes a single msgpack value with River's conventions (no envelope).
    /// - Parameter bytes: Exactly one msgpack value.
    /// - Returns: The value.
    /// - Throws: ``RiverCodecError`` for malformed msgpack.
    public func decodeValue(_ bytes: [UInt8]) throws(RiverCodecError) -> RiverValue {
        var result: RiverValue = .null
        try MessagePackUnpacker.unpack(bytes) { (object: msgpack_object) throws(RiverCodecError) in
            result = try MessagePackUnpacker.value(object, depth: 0)
        }
        return result
    }
}

extension MessagePackCodec: SeqAckSplitEncoding {
    func encodeAroundSeqAck(_ message: TransportMessage) throws(RiverCodecError) -> (head: [UInt8], tail: [UInt8]) {
        let (before, after) = EnvelopeKey.aroundSeqAck(EnvelopeKey.order(for: message))
        var packer = MessagePackPacker()
        defer { packer.release() }
        var tail: [UInt8] = []
        if !after.isEmpty {
            try packer.withPacker { (pk: UnsafeMutablePointer<msgpack_packer>) throws(RiverCodecError) in
                try Self.packFields(pk, message, after)
            }
            tail = packer.bytes()
            packer.removeAll()
        }
        try packer.withPacker { (pk: UnsafeMutablePointer<msgpack_packer>) throws(RiverCodecError) in
            msgpack_pack_map(pk, message.encodedKeyCount)
            try Self.packFields(pk, message, before)
        }
        return (packer.bytes(extraCapacity: Self.maximumSeqAckBytes + tail.count), tail)
    }

    /// `seq` and `ack` keys (4 bytes each) with 64-bit values (9 bytes each) at their longest.
    private static let maximumSeqAckBytes = 26

    /// Writes the two keys and integers exactly as ``encode(_:)`` does: each value in the
    /// smallest format, the choice `msgpack_pack_int64` makes.
    func appendSeqAck(seq: Int, ack: Int, to bytes: inout [UInt8]) {
        func append(key: (UInt8, UInt8, UInt8), _ value: Int) {
            bytes.append(0xA3)
            bytes.append(key.0)
            bytes.append(key.1)
            bytes.append(key.2)
            guard value >= 0 else {
                // Never a seq or ack the session assigns; kept exact all the same.
                switch value {
                case (-32)...:
                    bytes.append(UInt8(bitPattern: Int8(value)))
                case (-128)...:
                    bytes.append(0xD0)
                    bytes.append(UInt8(bitPattern: Int8(value)))
                case (-32_768)...:
                    bytes.append(0xD1)
                    withUnsafeBytes(of: Int16(value).bigEndian) { bytes.append(contentsOf: $0) }
                case (-2_147_483_648)...:
                    bytes.append(0xD2)
                    withUnsafeBytes(of: Int32(value).bigEndian) { bytes.append(contentsOf: $0) }
                default:
                    bytes.append(0xD3)
                    withUnsafeBytes(of: Int64(value).bigEndian) { bytes.append(contentsOf: $0) }
                }
                return
            }
            let unsigned = UInt64(value)
            switch unsigned {
            case ..<0x80:
                bytes.append(UInt8(unsigned))
            case ..<0x100:
                bytes.append(0xCC)
                bytes.append(UInt8(unsigned))
            case ..<0x1_0000:
                bytes.append(0xCD)
                withUnsafeBytes(of: UInt16(unsigned).bigEndian) { bytes.append(contentsOf: $0) }
            case ..<0x1_0000_0000:
                bytes.append(0xCE)
                withUnsafeBytes(of: UInt32(unsigned).bigEndian) { bytes.append(contentsOf: $0) }
            default:
                bytes.append(0xCF)
                withUnsafeBytes(of: unsigned.bigEndian) { bytes.append(contentsOf: $0) }
            }
        }
        append(key: (UInt8(ascii: "s"), UInt8(ascii: "e"), UInt8(ascii: "q")), seq)
        append(key: (UInt8(ascii: "a"), UInt8(ascii: "c"), UInt8(ascii: "k")), ack)
    }
}

// MARK: - Encoding

/// A `msgpack_sbuffer` owned by one encode call.
struct MessagePackPacker: ~Copyable {
    private var buffer = msgpack_sbuffer()

    init() {
        let initial = 512
        buffer.data = malloc(initial)?.assumingMemoryBound(to: CChar.self)
        buffer.alloc = buffer.data == nil ? 0 : initial
        buffer.size = 0
    }

    /// Frees the buffer.
    mutating func release() {
        free(buffer.data)
        buffer.data = nil
        buffer.alloc = 0
        buffer.size = 0
    }

    /// Runs `body` with a packer that writes into this buffer.
    mutating func withPacker(
        _ body: (UnsafeMutablePointer<msgpack_packer>) throws(RiverCodecError) -> Void
    ) throws(RiverCodecError) {
        try withUnsafeMutablePointer(to: &buffer) { (sbuf: UnsafeMutablePointer<msgpack_sbuffer>) throws(RiverCodecError) in
            var packer = msgpack_packer()
            msgpack_packer_init(&packer, sbuf, river_msgpack_sbuffer_write)
            try body(&packer)
        }
    }

    /// Forgets the bytes written so far (keeps the memory).
    mutating func removeAll() { buffer.size = 0 }

    /// A copy of the bytes written so far, with room for `extraCapacity` more.
    func bytes(extraCapacity: Int = 0) -> [UInt8] {
        let count = buffer.size
        guard count > 0, let data = buffer.data else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count + extraCapacity) { out, initialized in
            guard let target = out.baseAddress else { return }
            memcpy(target, data, count)
            initialized = count
        }
    }

    /// Hands `count` bytes at `bytes` to the packer's writer in one call.
    @inline(__always)
    private static func write(_ pk: UnsafeMutablePointer<msgpack_packer>, _ bytes: UnsafeRawPointer, _ count: Int) {
        _ = pk.pointee.callback(pk.pointee.data, bytes.assumingMemoryBound(to: CChar.self), count)
    }

    /// A short static string (at most 31 bytes: a fixstr). Header and body go to the writer in
    /// one call, where `msgpack_pack_str` and `msgpack_pack_str_body` would make two.
    @inline(__always)
    static func packStatic(_ pk: UnsafeMutablePointer<msgpack_packer>, _ s: StaticString) {
        let count = s.utf8CodeUnitCount
        guard count <= 31 else {
            msgpack_pack_str(pk, count)
            s.utf8Start.withMemoryRebound(to: CChar.self, capacity: count) { _ = msgpack_pack_str_body(pk, $0, count) }
            return
        }
        packShort(pk, UnsafeRawBufferPointer(start: s.utf8Start, count: count))
    }

    @inline(__always)
    static func pack(_ pk: UnsafeMutablePointer<msgpack_packer>, _ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            if utf8.count <= 31 {
                packShort(pk, UnsafeRawBufferPointer(utf8))
                return
            }
            msgpack_pack_str(pk, utf8.count)
            if let base = utf8.baseAddress { msgpack_pack_str_body(pk, base, utf8.count) }
        }
    }

    /// A fixstr (at most 31 bytes), header and body in one write: the same bytes
    /// `msgpack_pack_str` + `msgpack_pack_str_body` produce.
    @inline(__always)
    private static func packShort(_ pk: UnsafeMutablePointer<msgpack_packer>, _ utf8: UnsafeRawBufferPointer) {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { buffer in
            guard let base = buffer.baseAddress else { return }
            base.storeBytes(of: 0xA0 | UInt8(utf8.count), as: UInt8.self)
            if let source = utf8.baseAddress, utf8.count > 0 { (base + 1).copyMemory(from: source, byteCount: utf8.count) }
            write(pk, base, utf8.count + 1)
        }
    }

    static func pack(_ pk: UnsafeMutablePointer<msgpack_packer>, _ value: RiverValue, depth: Int) throws(RiverCodecError) {
        switch value {
        case .null: msgpack_pack_nil(pk)
        case .bool(let b): if b { msgpack_pack_true(pk) } else { msgpack_pack_false(pk) }
        case .int(let i): msgpack_pack_int64(pk, i)
        case .double(let d): msgpack_pack_double(pk, d)
        case .string(let s): pack(pk, s)
        case .bytes(let bytes):
            msgpack_pack_bin(pk, bytes.count)
            if !bytes.isEmpty {
                bytes.withUnsafeBufferPointer { _ = msgpack_pack_bin_body(pk, $0.baseAddress, $0.count) }
            }
        case .date(let date):
            // Relative to the reference date, so that the split into seconds and nanoseconds
            // is exact for the Double the Date stores.
            let reference = date.timeIntervalSinceReferenceDate
            guard reference.isFinite else { throw RiverCodecError("msgpack: cannot encode the date \(date)") }
            var seconds = reference.rounded(.down)
            var nanos = ((reference - seconds) * 1e9).rounded()
            if nanos >= 1e9 {
                seconds += 1
                nanos -= 1e9
            }
            guard let whole = Int64(exactly: seconds) else { throw RiverCodecError("msgpack: cannot encode the date \(date)") }
            var timestamp = msgpack_timestamp(tv_sec: whole + 978_307_200, tv_nsec: UInt32(nanos))
            msgpack_pack_timestamp(pk, &timestamp)
        case .bigInt(let decimal):
            try packBigInt(pk, decimal)
        case .array(let elements):
            guard depth < MessagePackScanner.maxDepth else {
                throw RiverCodecError("msgpack: nesting deeper than \(MessagePackScanner.maxDepth) containers")
            }
            msgpack_pack_array(pk, elements.count)
            for element in elements { try pack(pk, element, depth: depth + 1) }
        case .object(let fields):
            guard depth < MessagePackScanner.maxDepth else {
                throw RiverCodecError("msgpack: nesting deeper than \(MessagePackScanner.maxDepth) containers")
            }
            msgpack_pack_map(pk, fields.count)
            if fields.count == 1, let (key, element) = fields.first {
                pack(pk, key)
                try pack(pk, element, depth: depth + 1)
            } else if fields.count == 2 {
                // The common result envelope (`ok`, `payload`): ordered without sorting an array.
                var pairs = fields.makeIterator()
                guard var first = pairs.next(), var second = pairs.next() else { return }
                if second.key < first.key { swap(&first, &second) }
                pack(pk, first.key)
                try pack(pk, first.value, depth: depth + 1)
                pack(pk, second.key)
                try pack(pk, second.value, depth: depth + 1)
            } else {
                // Sorted as pairs: no second hash lookup per key.
                for (key, element) in fields.sorted(by: { $0.key < $1.key }) {
                    pack(pk, key)
                    try pack(pk, element, depth: depth + 1)
                }
            }
        }
    }

    /// The largest integer a JavaScript number holds exactly.
    static let maxSafeInteger: Int64 = (1 << 53) - 1

    private static func packBigInt(_ pk: UnsafeMutablePointer<msgpack_packer>, _ decimal: String) throws(RiverCodecError) {
        guard BigIntText.isDecimal(decimal) else {
            throw RiverCodecError("msgpack: big integer \"\(decimal)\" is not a decimal integer")
        }
        var body = MessagePackPacker()
        defer { body.release() }
        try body.withPacker { (inner: UnsafeMutablePointer<msgpack_packer>) in
            if let n = Int64(decimal), n >= -maxSafeInteger, n <= maxSafeInteger {
                msgpack_pack_int64(inner, n)
            } else {
                pack(inner, decimal)
            }
        }
        let bytes = body.bytes()
        msgpack_pack_ext(pk, bytes.count, 0)
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { _ = msgpack_pack_ext_body(pk, $0.baseAddress, $0.count) }
        }
    }
}

// MARK: - Decoding

/// A msgpack-c zone pointer that may move between threads.
///
/// `@unchecked Sendable`: a zone is used by one decode call at a time; it only crosses
/// threads while parked in ``ZonePool``, behind its mutex.
private struct ZoneHandle: @unchecked Sendable {
    let zone: UnsafeMutablePointer<msgpack_zone>
}

/// A pool of msgpack-c zones shared by all decode calls.
///
/// Zones are handed out one per call and come back cleared, so no two threads ever use the
/// same zone; the mutex guards the list.
private final class ZonePool: Sendable {
    private let zones = Mutex<[ZoneHandle]>([])
    private let capacity = 16
    /// Zones used for frames larger than this are freed instead of kept.
    static let keepLimit = 64 * 1024

    static let shared = ZonePool()

    func take() -> UnsafeMutablePointer<msgpack_zone>? {
        if let handle = zones.withLock({ $0.popLast() }) { return handle.zone }
        return msgpack_zone_new(8192)
    }

    func give(_ zone: UnsafeMutablePointer<msgpack_zone>, frameSize: Int) {
        msgpack_zone_clear(zone)
        if frameSize > Self.keepLimit {
            msgpack_zone_free(zone)
            return
        }
        let handle = ZoneHandle(zone: zone)
        let kept = zones.withLock { list -> Bool in
            guard list.count < capacity else { return false }
            list.append(handle)
            return true
        }
        if !kept { msgpack_zone_free(zone) }
    }
}

/// Turns msgpack-c objects into ``RiverValue``s.
enum MessagePackUnpacker {
    /// Validates `bytes`, unpacks them with msgpack-c and hands the root object to `body`
    /// while the input and the zone are alive (strings and bins point into `bytes`).
    static func unpack(
        _ bytes: [UInt8], _ body: (msgpack_object) throws(RiverCodecError) -> Void
    ) throws(RiverCodecError) {
        try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(RiverCodecError) in
            let raw = UnsafeRawBufferPointer(buffer)
            try MessagePackScanner.validate(raw)
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else {
                throw RiverCodecError("msgpack: empty frame")
            }
            // msgpack-c 4's `msgpack_unpack_next` frees whatever zone the `msgpack_unpacked`
            // holds and allocates a new one on every call, so zones cannot be reused through
            // it. `msgpack_unpack` (the same parser, marked obsolete but exported) allocates
            // into a zone the caller owns: that is what makes the pool work.
            guard let zone = ZonePool.shared.take() else { throw RiverCodecError("msgpack: out of memory") }
            defer { ZonePool.shared.give(zone, frameSize: raw.count) }
            var offset = 0
            var root = msgpack_object()
            let status = msgpack_unpack(base, raw.count, &offset, zone, &root)
            switch status {
            case MSGPACK_UNPACK_SUCCESS:
                guard offset == raw.count else {
                    throw RiverCodecError("msgpack: \(raw.count - offset) trailing bytes after the message")
                }
                try body(root)
            case MSGPACK_UNPACK_CONTINUE:
                throw RiverCodecError("msgpack: truncated frame")
            case MSGPACK_UNPACK_EXTRA_BYTES:
                throw RiverCodecError("msgpack: trailing bytes after the message")
            case MSGPACK_UNPACK_NOMEM_ERROR:
                throw RiverCodecError("msgpack: out of memory while decoding")
            default:
                throw RiverCodecError("msgpack: malformed frame (msgpack-c status \(status.rawValue))")
            }
        }
    }

    static func kindName(_ object: msgpack_object) -> String {
        switch object.type {
        case MSGPACK_OBJECT_NIL: "nil"
        case MSGPACK_OBJECT_BOOLEAN: "boolean"
        case MSGPACK_OBJECT_POSITIVE_INTEGER, MSGPACK_OBJECT_NEGATIVE_INTEGER: "integer"
        case MSGPACK_OBJECT_FLOAT32, MSGPACK_OBJECT_FLOAT64: "float"
        case MSGPACK_OBJECT_STR: "str"
        case MSGPACK_OBJECT_BIN: "bin"
        case MSGPACK_OBJECT_ARRAY: "array"
        case MSGPACK_OBJECT_MAP: "map"
        case MSGPACK_OBJECT_EXT: "ext"
        default: "unknown"
        }
    }

    @inline(__always)
    static func string(_ str: msgpack_object_str) throws(RiverCodecError) -> String {
        let count = Int(str.size)
        guard count > 0, let ptr = str.ptr else { return "" }
        let buffer = UnsafeRawBufferPointer(start: ptr, count: count).bindMemory(to: UInt8.self)
        // ASCII (the common case) needs no validation; `String(validating:)` is generic and
        // comparatively slow, so it only sees the rest.
        if UTF8Check.isASCII(buffer) { return String(decoding: buffer, as: UTF8.self) }
        guard let s = String(validating: buffer, as: UTF8.self) else {
            throw RiverCodecError("msgpack: invalid UTF-8 in str")
        }
        return s
    }

    /// `{traceparent: str, tracestate: str}` read without building a dictionary; `nil` for
    /// any other shape (the general path then reports what is wrong).
    static func tracing(_ object: msgpack_object) throws(RiverCodecError) -> TracingContext? {
        guard object.type == MSGPACK_OBJECT_MAP, object.via.map.size == 2, let kvs = object.via.map.ptr else { return nil }
        var parent: String?
        var state: String?
        for i in 0..<2 {
            let key = kvs[i].key
            let value = kvs[i].val
            guard key.type == MSGPACK_OBJECT_STR, value.type == MSGPACK_OBJECT_STR else { return nil }
            guard let name = key.via.str.ptr else { return nil }
            let size = Int(key.via.str.size)
            if size == 11 && memcmp(name, "traceparent", 11) == 0 {
                parent = try string(value.via.str)
            } else if size == 10 && memcmp(name, "tracestate", 10) == 0 {
                state = try string(value.via.str)
            }
        }
        guard let parent, let state else { return nil }
        return TracingContext(traceparent: parent, tracestate: state)
    }

    static func key(_ object: msgpack_object) throws(RiverCodecError) -> String {
        guard object.type == MSGPACK_OBJECT_STR else {
            throw RiverCodecError("msgpack: map keys must be strings, got \(kindName(object))")
        }
        return try string(object.via.str)
    }

    static func value(_ object: msgpack_object, depth: Int) throws(RiverCodecError) -> RiverValue {
        switch object.type {
        case MSGPACK_OBJECT_NIL:
            return .null
        case MSGPACK_OBJECT_BOOLEAN:
            return .bool(object.via.boolean)
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            let u = object.via.u64
            return u <= UInt64(Int64.max) ? .int(Int64(u)) : .bigInt(String(u))
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return .int(object.via.i64)
        case MSGPACK_OBJECT_FLOAT32, MSGPACK_OBJECT_FLOAT64:
            return .double(object.via.f64)
        case MSGPACK_OBJECT_STR:
            return .string(try string(object.via.str))
        case MSGPACK_OBJECT_BIN:
            let bin = object.via.bin
            guard bin.size > 0, let ptr = bin.ptr else { return .bytes([]) }
            return .bytes(Array(UnsafeRawBufferPointer(start: ptr, count: Int(bin.size))))
        case MSGPACK_OBJECT_ARRAY:
            let array = object.via.array
            var elements: [RiverValue] = []
            elements.reserveCapacity(Int(array.size))
            if let ptr = array.ptr {
                for i in 0..<Int(array.size) { elements.append(try value(ptr[i], depth: depth + 1)) }
            }
            return .array(elements)
        case MSGPACK_OBJECT_MAP:
            let map = object.via.map
            var fields: [String: RiverValue] = Dictionary(minimumCapacity: Int(map.size))
            if let ptr = map.ptr {
                for i in 0..<Int(map.size) {
                    fields[try key(ptr[i].key)] = try value(ptr[i].val, depth: depth + 1)
                }
            }
            return .object(fields)
        case MSGPACK_OBJECT_EXT:
            return try ext(object)
        default:
            throw RiverCodecError("msgpack: unknown object type \(object.type.rawValue)")
        }
    }

    private static func ext(_ object: msgpack_object) throws(RiverCodecError) -> RiverValue {
        let ext = object.via.ext
        switch ext.type {
        case -1:
            var object = object
            var timestamp = msgpack_timestamp()
            guard msgpack_object_to_timestamp(&object, &timestamp) else {
                throw RiverCodecError("msgpack: timestamp extension of invalid size \(ext.size)")
            }
            guard timestamp.tv_nsec < 1_000_000_000 else {
                throw RiverCodecError("msgpack: timestamp nanoseconds out of range")
            }
            let seconds = Double(timestamp.tv_sec - 978_307_200)
            return .date(Date(timeIntervalSinceReferenceDate: seconds + Double(timestamp.tv_nsec) * 1e-9))
        case 0:
            return .bigInt(try bigIntBody(ext))
        default:
            throw RiverCodecError("msgpack: unsupported extension type \(ext.type)")
        }
    }

    /// The body of a big-integer extension: msgpack of an integer (or an integral float64)
    /// or of a decimal string.
    private static func bigIntBody(_ ext: msgpack_object_ext) throws(RiverCodecError) -> String {
        guard ext.size > 0, let ptr = ext.ptr else { throw RiverCodecError("msgpack: empty big integer extension") }
        let raw = UnsafeRawBufferPointer(start: ptr, count: Int(ext.size))
        try MessagePackScanner.validate(raw)
        var unpacked = msgpack_unpacked()
        defer { msgpack_unpacked_destroy(&unpacked) }
        var offset = 0
        guard msgpack_unpack_next(&unpacked, ptr, Int(ext.size), &offset) == MSGPACK_UNPACK_SUCCESS else {
            throw RiverCodecError("msgpack: malformed big integer extension")
        }
        let body = unpacked.data
        switch body.type {
        case MSGPACK_OBJECT_POSITIVE_INTEGER: return String(body.via.u64)
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return String(body.via.i64)
        case MSGPACK_OBJECT_FLOAT64, MSGPACK_OBJECT_FLOAT32:
            let d = body.via.f64
            guard d.isFinite, d.rounded(.towardZero) == d, let i = Int64(exactly: d) else {
                throw RiverCodecError("msgpack: big integer extension holds a non-integral number")
            }
            return String(i)
        case MSGPACK_OBJECT_STR:
            let text = try string(body.via.str)
            guard BigIntText.isDecimal(text) else {
                throw RiverCodecError("msgpack: big integer extension holds \"\(text)\", not a decimal integer")
            }
            return text
        default:
            throw RiverCodecError("msgpack: big integer extension holds a \(kindName(body))")
        }
    }
}

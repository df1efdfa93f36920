#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads msgpack straight from a frame's bytes into ``RiverValue``s, in one pass and without
/// an intermediate object tree.
///
/// Run on bytes that ``MessagePackScanner/validate(_:)`` accepted (every length fits, nesting
/// is bounded, nothing trails); every read still checks its bounds, so a reader handed other
/// bytes throws instead of reading past them.
struct MessagePackReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Whether every byte was read.
    var isAtEnd: Bool { position == bytes.count }

    private func truncated() -> RiverCodecError {
        RiverCodecError("msgpack: truncated frame (at offset \(position))")
    }

    /// The next byte, not consumed.
    func peek() throws(RiverCodecError) -> UInt8 {
        guard position < bytes.count else { throw truncated() }
        return bytes[position]
    }

    private mutating func byte() throws(RiverCodecError) -> UInt8 {
        guard position < bytes.count else { throw truncated() }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func bigEndian<T: FixedWidthInteger>(_: T.Type) throws(RiverCodecError) -> T {
        guard MemoryLayout<T>.size <= bytes.count - position else { throw truncated() }
        defer { position += MemoryLayout<T>.size }
        return T(bigEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    /// The next `count` bytes, consumed.
    private mutating func take(_ count: Int) throws(RiverCodecError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - position else { throw truncated() }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    /// The kind of value starting with `header`, for error messages (msgpack-c's names).
    static func kindName(_ header: UInt8) -> String {
        switch header {
        case 0xC0: "nil"
        case 0xC2, 0xC3: "boolean"
        case 0x00...0x7F, 0xE0...0xFF, 0xCC...0xD3: "integer"
        case 0xCA, 0xCB: "float"
        case 0xA0...0xBF, 0xD9...0xDB: "str"
        case 0xC4...0xC6: "bin"
        case 0x90...0x9F, 0xDC, 0xDD: "array"
        case 0x80...0x8F, 0xDE, 0xDF: "map"
        case 0xC7...0xC9, 0xD4...0xD8: "ext"
        default: "unknown"
        }
    }

    /// A map's entry count if the next value is a map (consumed), else `nil` (nothing consumed).
    mutating func mapHeader() throws(RiverCodecError) -> Int? {
        let header = try peek()
        switch header {
        case 0x80...0x8F:
            position += 1
            return Int(header & 0x0F)
        case 0xDE:
            position += 1
            return Int(try bigEndian(UInt16.self))
        case 0xDF:
            position += 1
            return Int(try bigEndian(UInt32.self))
        default:
            return nil
        }
    }

    /// A str's UTF-8 bytes if the next value is a str (consumed), else `nil` (nothing consumed).
    mutating func stringBytes() throws(RiverCodecError) -> UnsafeRawBufferPointer? {
        let header = try peek()
        let count: Int
        switch header {
        case 0xA0...0xBF:
            position += 1
            count = Int(header & 0x1F)
        case 0xD9:
            position += 1
            count = Int(try byte())
        case 0xDA:
            position += 1
            count = Int(try bigEndian(UInt16.self))
        case 0xDB:
            position += 1
            count = Int(try bigEndian(UInt32.self))
        default:
            return nil
        }
        return try take(count)
    }

    /// The next value if it is a str (consumed), else `nil` (nothing consumed).
    mutating func string() throws(RiverCodecError) -> String? {
        guard let utf8 = try stringBytes() else { return nil }
        return try Self.string(utf8)
    }

    /// The next value if it is an integer from 0 to `Int.max` (consumed); `nil` for any other
    /// value (consumed too).
    mutating func nonNegativeInteger() throws(RiverCodecError) -> Int? {
        let header = try byte()
        let value: Int64
        switch header {
        case 0x00...0x7F: return Int(header)
        case 0xCC: return Int(try byte())
        case 0xCD: return Int(try bigEndian(UInt16.self))
        case 0xCE: return Int(try bigEndian(UInt32.self))
        case 0xCF: return Int(exactly: try bigEndian(UInt64.self))
        case 0xD0: value = Int64(Int8(bitPattern: try byte()))
        case 0xD1: value = Int64(try bigEndian(Int16.self))
        case 0xD2: value = Int64(try bigEndian(Int32.self))
        case 0xD3: value = try bigEndian(Int64.self)
        default:
            position -= 1
            try skipValue()
            return nil
        }
        return value >= 0 ? Int(value) : nil
    }

    /// Skips the next value, containers with everything in them, without reading it (no
    /// allocation, no recursion): a str, bin or ext costs the same whatever its length.
    mutating func skipValue() throws(RiverCodecError) {
        var pending = 1
        while pending > 0 {
            pending -= 1
            let header = try byte()
            switch header {
            case 0x00...0x7F, 0xE0...0xFF, 0xC0, 0xC2, 0xC3: break
            case 0x80...0x8F: pending += Int(header & 0x0F) * 2
            case 0x90...0x9F: pending += Int(header & 0x0F)
            case 0xA0...0xBF: _ = try take(Int(header & 0x1F))
            case 0xC4, 0xD9: _ = try take(Int(byte()))
            case 0xC5, 0xDA: _ = try take(Int(bigEndian(UInt16.self)))
            case 0xC6, 0xDB: _ = try take(Int(bigEndian(UInt32.self)))
            case 0xC7: _ = try take(Int(byte()) + 1)
            case 0xC8: _ = try take(Int(bigEndian(UInt16.self)) + 1)
            case 0xC9: _ = try take(Int(bigEndian(UInt32.self)) + 1)
            case 0xCA, 0xCE, 0xD2: _ = try take(4)
            case 0xCB, 0xCF, 0xD3: _ = try take(8)
            case 0xCC, 0xD0: _ = try take(1)
            case 0xCD, 0xD1: _ = try take(2)
            case 0xD4: _ = try take(2)
            case 0xD5: _ = try take(3)
            case 0xD6: _ = try take(5)
            case 0xD7: _ = try take(9)
            case 0xD8: _ = try take(17)
            case 0xDC: pending += Int(try bigEndian(UInt16.self))
            case 0xDD: pending += Int(try bigEndian(UInt32.self))
            case 0xDE: pending += Int(try bigEndian(UInt16.self)) * 2
            case 0xDF: pending += Int(try bigEndian(UInt32.self)) * 2
            default: throw RiverCodecError("msgpack: invalid byte 0x\(String(header, radix: 16)) at offset \(position - 1)")
            }
            // Every pending value takes at least one byte: a lying count ends here.
            guard pending <= bytes.count - position else { throw truncated() }
        }
    }

    /// A map key: a str, or an error naming what it is instead.
    mutating func key() throws(RiverCodecError) -> String {
        guard let key = try string() else {
            throw RiverCodecError("msgpack: map keys must be strings, got \(Self.kindName(try peek()))")
        }
        return key
    }

    static func string(_ utf8: UnsafeRawBufferPointer) throws(RiverCodecError) -> String {
        let buffer = utf8.bindMemory(to: UInt8.self)
        // ASCII (the common case) needs no validation; `String(validating:)` costs ~40 ns more
        // per call, so short strings only go there when they are not ASCII. A long one goes
        // there at once: it checks and copies in two passes, where checking for ASCII here
        // first was a third (1 MiB: 38 µs against 84 µs).
        if buffer.count < Self.longString, UTF8Check.isASCII(buffer) { return String(decoding: buffer, as: UTF8.self) }
        guard let s = String(validating: buffer, as: UTF8.self) else {
            throw RiverCodecError("msgpack: invalid UTF-8 in str")
        }
        return s
    }

    /// Strings of at least this many bytes are validated by `String(validating:)` alone.
    private static let longString = 1024

    /// The next value, whatever it is, at nesting `depth`.
    mutating func value(depth: Int) throws(RiverCodecError) -> RiverValue {
        let header = try byte()
        switch header {
        case 0x00...0x7F: return .int(Int64(header))
        case 0xE0...0xFF: return .int(Int64(Int8(bitPattern: header)))
        case 0xC0: return .null
        case 0xC2: return .bool(false)
        case 0xC3: return .bool(true)
        case 0xCC: return .int(Int64(try byte()))
        case 0xCD: return .int(Int64(try bigEndian(UInt16.self)))
        case 0xCE: return .int(Int64(try bigEndian(UInt32.self)))
        case 0xCF:
            let u = try bigEndian(UInt64.self)
            return u <= UInt64(Int64.max) ? .int(Int64(u)) : .bigInt(String(u))
        case 0xD0: return .int(Int64(Int8(bitPattern: try byte())))
        case 0xD1: return .int(Int64(try bigEndian(Int16.self)))
        case 0xD2: return .int(Int64(try bigEndian(Int32.self)))
        case 0xD3: return .int(try bigEndian(Int64.self))
        case 0xCA: return .double(Double(Float(bitPattern: try bigEndian(UInt32.self))))
        case 0xCB: return .double(Double(bitPattern: try bigEndian(UInt64.self)))
        case 0xA0...0xBF: return .string(try Self.string(take(Int(header & 0x1F))))
        case 0xD9: return .string(try Self.string(take(Int(byte()))))
        case 0xDA: return .string(try Self.string(take(Int(bigEndian(UInt16.self)))))
        case 0xDB: return .string(try Self.string(take(Int(bigEndian(UInt32.self)))))
        case 0xC4: return .bytes(Array(try take(Int(byte()))))
        case 0xC5: return .bytes(Array(try take(Int(bigEndian(UInt16.self)))))
        // A large bin becomes the caller's `Data` as it is (``RiverValueDecoder``): reserved
        // to be mapped, so its memory goes back to the system when the caller lets go.
        case 0xC6: return .bytes(LargeByteArray.copy(try take(Int(bigEndian(UInt32.self)))))
        case 0x90...0x9F: return try array(count: Int(header & 0x0F), depth: depth)
        case 0xDC: return try array(count: Int(bigEndian(UInt16.self)), depth: depth)
        case 0xDD: return try array(count: Int(bigEndian(UInt32.self)), depth: depth)
        case 0x80...0x8F: return try map(count: Int(header & 0x0F), depth: depth)
        case 0xDE: return try map(count: Int(bigEndian(UInt16.self)), depth: depth)
        case 0xDF: return try map(count: Int(bigEndian(UInt32.self)), depth: depth)
        case 0xD4: return try ext(count: 1)
        case 0xD5: return try ext(count: 2)
        case 0xD6: return try ext(count: 4)
        case 0xD7: return try ext(count: 8)
        case 0xD8: return try ext(count: 16)
        case 0xC7: return try ext(count: Int(byte()))
        case 0xC8: return try ext(count: Int(bigEndian(UInt16.self)))
        case 0xC9: return try ext(count: Int(bigEndian(UInt32.self)))
        default: throw RiverCodecError("msgpack: invalid byte 0x\(String(header, radix: 16)) at offset \(position - 1)")
        }
    }

    private mutating func array(count: Int, depth: Int) throws(RiverCodecError) -> RiverValue {
        // Every element takes at least one byte: a lying count fails here, before reserving.
        guard count <= bytes.count - position else { throw truncated() }
        var elements: [RiverValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try value(depth: depth + 1)) }
        return .array(elements)
    }

    private mutating func map(count: Int, depth: Int) throws(RiverCodecError) -> RiverValue {
        guard count <= (bytes.count - position) / 2 else { throw truncated() }
        var fields: [String: RiverValue] = Dictionary(minimumCapacity: count)
        for _ in 0..<count {
            let key = try key()
            fields[key] = try value(depth: depth + 1)
        }
        return .object(fields)
    }

    /// An extension's type byte and body: timestamps (type −1) and big integers (type 0).
    private mutating func ext(count: Int) throws(RiverCodecError) -> RiverValue {
        let type = Int8(bitPattern: try byte())
        let body = try take(count)
        switch type {
        case -1: return .date(try Self.timestamp(body))
        case 0: return .bigInt(try Self.bigInt(body))
        default: throw RiverCodecError("msgpack: unsupported extension type \(type)")
        }
    }

    /// The timestamp extension's 32, 64 and 96-bit forms.
    private static func timestamp(_ body: UnsafeRawBufferPointer) throws(RiverCodecError) -> Date {
        let seconds: Int64
        let nanoseconds: UInt32
        switch body.count {
        case 4:
            seconds = Int64(UInt32(bigEndian: body.loadUnaligned(as: UInt32.self)))
            nanoseconds = 0
        case 8:
            let data64 = UInt64(bigEndian: body.loadUnaligned(as: UInt64.self))
            seconds = Int64(data64 & 0x3_FFFF_FFFF)
            nanoseconds = UInt32(truncatingIfNeeded: data64 >> 34)
        case 12:
            nanoseconds = UInt32(bigEndian: body.loadUnaligned(as: UInt32.self))
            seconds = Int64(bigEndian: body.loadUnaligned(fromByteOffset: 4, as: Int64.self))
        default:
            throw RiverCodecError("msgpack: timestamp extension of invalid size \(body.count)")
        }
        guard nanoseconds < 1_000_000_000 else { throw RiverCodecError("msgpack: timestamp nanoseconds out of range") }
        // Seconds since 1970 to seconds since 2001, exact wherever a Double holds the result.
        let sinceReference = seconds >= Int64.min + 978_307_200 ? Double(seconds - 978_307_200) : Double(seconds) - 978_307_200
        return Date(timeIntervalSinceReferenceDate: sinceReference + Double(nanoseconds) * 1e-9)
    }

    /// The body of a big-integer extension: msgpack of an integer (or an integral float) or
    /// of a decimal string. Other kinds are refused by their header, never parsed (an
    /// extension nested in one would otherwise recurse once per nesting).
    private static func bigInt(_ body: UnsafeRawBufferPointer) throws(RiverCodecError) -> String {
        guard !body.isEmpty else { throw RiverCodecError("msgpack: empty big integer extension") }
        try MessagePackScanner.validate(body)
        var reader = MessagePackReader(body)
        let header = try reader.peek()
        switch header {
        case 0x00...0x7F, 0xE0...0xFF, 0xCA, 0xCB, 0xCC...0xD3, 0xA0...0xBF, 0xD9...0xDB: break
        default: throw RiverCodecError("msgpack: big integer extension holds a \(kindName(header))")
        }
        switch try reader.value(depth: 0) {
        case .int(let i): return String(i)
        case .bigInt(let text): return text
        case .double(let d):
            guard d.isFinite, d.rounded(.towardZero) == d, let i = Int64(exactly: d) else {
                throw RiverCodecError("msgpack: big integer extension holds a non-integral number")
            }
            return String(i)
        case .string(let text):
            guard BigIntText.isDecimal(text) else {
                throw RiverCodecError("msgpack: big integer extension holds \"\(text)\", not a decimal integer")
            }
            return text
        default:
            throw RiverCodecError("msgpack: big integer extension holds a \(kindName(header))")
        }
    }

    /// `{traceparent: str, tracestate: str}` read without building a dictionary (consumed);
    /// `nil` for any other shape, with nothing consumed (the general path then reports what
    /// is wrong).
    mutating func tracing() throws(RiverCodecError) -> TracingContext? {
        let start = position
        var parent: String?
        var state: String?
        if try mapHeader() == 2 {
            for _ in 0..<2 {
                guard let key = try stringBytes(), let value = try stringBytes() else { break }
                if Self.equals(key, "traceparent") {
                    parent = try Self.string(value)
                } else if Self.equals(key, "tracestate") {
                    state = try Self.string(value)
                }
            }
        }
        guard let parent, let state else {
            position = start
            return nil
        }
        return TracingContext(traceparent: parent, tracestate: state)
    }

    private static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount, let base = bytes.baseAddress else { return false }
        return memcmp(base, text.utf8Start, bytes.count) == 0
    }
}

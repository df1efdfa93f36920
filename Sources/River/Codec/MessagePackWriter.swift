#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where msgpack bytes go: a ``MessagePackSizer`` that only counts them, or a
/// ``MessagePackWriter`` that stores them. Every format is written by the one generic code in
/// ``MessagePackFormat``, so the count of the first pass is exactly what the second writes.
protocol MessagePackSink {
    /// Whether the order of the bytes matters (`false` for a sink that only counts them, which
    /// lets objects skip sorting their keys).
    static var keepsOrder: Bool { get }
    mutating func write(_ byte: UInt8)
    mutating func write<T: FixedWidthInteger>(bigEndian value: T)
    mutating func write(_ bytes: UnsafeRawBufferPointer)
    /// A string's UTF-8 bytes (no header).
    mutating func write(utf8 string: String)
}

/// Counts the bytes a value would take.
struct MessagePackSizer: MessagePackSink {
    static var keepsOrder: Bool { false }
    private(set) var count = 0

    @inline(__always) mutating func write(_ byte: UInt8) { count += 1 }
    @inline(__always) mutating func write<T: FixedWidthInteger>(bigEndian value: T) { count += MemoryLayout<T>.size }
    @inline(__always) mutating func write(_ bytes: UnsafeRawBufferPointer) { count += bytes.count }
    @inline(__always) mutating func write(utf8 string: String) { count += string.utf8.count }
}

/// Stores bytes into memory sized beforehand by a ``MessagePackSizer``. A write that would go
/// past the end is dropped and recorded (`overflowed`), so a wrong size is an error, never a
/// write out of bounds.
struct MessagePackWriter: MessagePackSink {
    static var keepsOrder: Bool { true }
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private(set) var count = 0
    private(set) var overflowed = false

    init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always)
    private mutating func room(for n: Int) -> Bool {
        guard n <= capacity - count else {
            overflowed = true
            return false
        }
        return true
    }

    @inline(__always)
    mutating func write(_ byte: UInt8) {
        guard room(for: 1) else { return }
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    mutating func write<T: FixedWidthInteger>(bigEndian value: T) {
        guard room(for: MemoryLayout<T>.size) else { return }
        base.storeBytes(of: value.bigEndian, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }

    @inline(__always)
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty, room(for: bytes.count) else { return }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    mutating func write(utf8 string: String) {
        var string = string
        string.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }
}

/// Something written as msgpack through a ``MessagePackSink``.
protocol MessagePackWritable {
    /// Writes the value; the same bytes (or the same count) for every sink.
    /// - Throws: ``RiverCodecError`` for a value msgpack cannot carry.
    func write<S: MessagePackSink>(to sink: inout S) throws(RiverCodecError)
}

extension MessagePackWritable {
    /// The value's msgpack bytes in an array of exactly that size plus `extraCapacity` (a
    /// message waits in the send buffer as this array, so it carries no spare capacity).
    ///
    /// Most messages fit ``stackBytes``: they are written once on the stack and copied out, with
    /// no heap buffer. A larger value is counted first and written straight into its array
    /// (its stack attempt stops writing at the limit but still walks the value once more).
    func messagePackBytes(extraCapacity: Int = 0) throws(RiverCodecError) -> [UInt8] {
        switch try messagePack(extraCapacity: extraCapacity, largeStorage: { _ in nil }) {
        case .bytes(let bytes): bytes
        case .stored: []
        }
    }

    /// ``messagePackBytes(extraCapacity:)``, except that a value too large for the stack
    /// buffer is written into the memory `largeStorage` returns for its size plus
    /// `extraCapacity` bytes (at least that many; the caller keeps it), or into an array when
    /// it returns `nil`.
    func messagePack(
        extraCapacity: Int, largeStorage: (Int) -> UnsafeMutableRawPointer?
    ) throws(RiverCodecError) -> MessagePackOutput {
        let small = try withUnsafeTemporaryAllocation(byteCount: stackBytes, alignment: 8) {
            (buffer: UnsafeMutableRawBufferPointer) throws(RiverCodecError) -> [UInt8]? in
            guard let base = buffer.baseAddress else { return nil }
            var writer = MessagePackWriter(base: base, capacity: buffer.count)
            try write(to: &writer)
            guard !writer.overflowed else { return nil }
            let count = writer.count
            // No array of capacity 0 through `unsafeUninitializedCapacity`: it stores the count
            // into the shared empty-array singleton, which ThreadSanitizer reports as a race
            // between threads that encode at once (an empty tail is common).
            if count + extraCapacity == 0 { return [] }
            return [UInt8](unsafeUninitializedCapacity: count + extraCapacity) { target, initialized in
                guard let destination = target.baseAddress, count > 0 else { return }
                UnsafeMutableRawPointer(destination).copyMemory(from: base, byteCount: count)
                initialized = count
            }
        }
        if let small { return .bytes(small) }
        var sizer = MessagePackSizer()
        try write(to: &sizer)
        let count = sizer.count
        if let base = largeStorage(count + extraCapacity) {
            var writer = MessagePackWriter(base: base, capacity: count)
            try write(to: &writer)
            guard !writer.overflowed, writer.count == count else {
                throw RiverCodecError("msgpack: wrote \(writer.count) bytes where \(count) were counted")
            }
            return .stored(count: count)
        }
        var failure: RiverCodecError?
        // A large message is reserved to be mapped (it waits in the send buffer until
        // acknowledged; see ``LargeByteArray``): the reserve is address space, not memory.
        let bytes = [UInt8](unsafeUninitializedCapacity: LargeByteArray.capacity(for: count + extraCapacity)) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            LargeByteArray.adviseHugePages(UnsafeMutableRawPointer(base), count: count)
            var writer = MessagePackWriter(base: UnsafeMutableRawPointer(base), capacity: count)
            do throws(RiverCodecError) {
                try write(to: &writer)
            } catch {
                failure = error
                return
            }
            guard !writer.overflowed, writer.count == count else {
                failure = RiverCodecError("msgpack: wrote \(writer.count) bytes where \(count) were counted")
                return
            }
            initialized = count
        }
        if let failure { throw failure }
        return .bytes(bytes)
    }
}

/// Where ``MessagePackWritable/messagePack(extraCapacity:largeStorage:)`` put a value.
enum MessagePackOutput {
    /// In an array of its own.
    case bytes([UInt8])
    /// In the memory the caller provided: `count` bytes from its start.
    case stored(count: Int)
}

/// The stack buffer a message is first written into (see `messagePackBytes(extraCapacity:)`).
private let stackBytes = 1024

/// msgpack's formats, chosen exactly as msgpack-c's packer chooses them (integers in the
/// smallest format, doubles as float64, `str8` for 32–255 bytes), so the bytes match what the
/// reference and earlier versions of this codec write.
enum MessagePackFormat {
    @inline(__always)
    static func writeNil<S: MessagePackSink>(_ sink: inout S) { sink.write(0xC0) }

    @inline(__always)
    static func write<S: MessagePackSink>(_ sink: inout S, bool: Bool) { sink.write(bool ? 0xC3 : 0xC2) }

    static func write<S: MessagePackSink>(_ sink: inout S, int d: Int64) {
        if d < -(1 << 5) {
            if d < -(1 << 15) {
                if d < -(1 << 31) {
                    sink.write(0xD3)
                    sink.write(bigEndian: d)
                } else {
                    sink.write(0xD2)
                    sink.write(bigEndian: Int32(truncatingIfNeeded: d))
                }
            } else if d < -(1 << 7) {
                sink.write(0xD1)
                sink.write(bigEndian: Int16(truncatingIfNeeded: d))
            } else {
                sink.write(0xD0)
                sink.write(UInt8(truncatingIfNeeded: d))
            }
        } else if d < (1 << 7) {
            // Positive and negative fixint.
            sink.write(UInt8(truncatingIfNeeded: d))
        } else if d < (1 << 16) {
            if d < (1 << 8) {
                sink.write(0xCC)
                sink.write(UInt8(truncatingIfNeeded: d))
            } else {
                sink.write(0xCD)
                sink.write(bigEndian: UInt16(truncatingIfNeeded: d))
            }
        } else if d < (1 << 32) {
            sink.write(0xCE)
            sink.write(bigEndian: UInt32(truncatingIfNeeded: d))
        } else {
            sink.write(0xCF)
            sink.write(bigEndian: UInt64(bitPattern: d))
        }
    }

    @inline(__always)
    static func write<S: MessagePackSink>(_ sink: inout S, double: Double) {
        sink.write(0xCB)
        sink.write(bigEndian: double.bitPattern)
    }

    static func writeStringHeader<S: MessagePackSink>(_ sink: inout S, count: Int) {
        if count < 32 {
            sink.write(0xA0 | UInt8(count))
        } else if count < 256 {
            sink.write(0xD9)
            sink.write(UInt8(count))
        } else if count < 65536 {
            sink.write(0xDA)
            sink.write(bigEndian: UInt16(count))
        } else {
            sink.write(0xDB)
            sink.write(bigEndian: UInt32(truncatingIfNeeded: count))
        }
    }

    @inline(__always)
    static func write<S: MessagePackSink>(_ sink: inout S, string: String) {
        writeStringHeader(&sink, count: string.utf8.count)
        sink.write(utf8: string)
    }

    /// A static key (no string storage involved).
    @inline(__always)
    static func write<S: MessagePackSink>(_ sink: inout S, staticString: StaticString) {
        let count = staticString.utf8CodeUnitCount
        writeStringHeader(&sink, count: count)
        sink.write(UnsafeRawBufferPointer(start: staticString.utf8Start, count: count))
    }

    static func write<S: MessagePackSink>(_ sink: inout S, bytes: [UInt8]) {
        let count = bytes.count
        if count < 256 {
            sink.write(0xC4)
            sink.write(UInt8(count))
        } else if count < 65536 {
            sink.write(0xC5)
            sink.write(bigEndian: UInt16(count))
        } else {
            sink.write(0xC6)
            sink.write(bigEndian: UInt32(truncatingIfNeeded: count))
        }
        bytes.withUnsafeBytes { sink.write($0) }
    }

    static func writeArrayHeader<S: MessagePackSink>(_ sink: inout S, count: Int) {
        writeContainerHeader(&sink, count: count, fixed: 0x90, format16: 0xDC, format32: 0xDD)
    }

    static func writeMapHeader<S: MessagePackSink>(_ sink: inout S, count: Int) {
        writeContainerHeader(&sink, count: count, fixed: 0x80, format16: 0xDE, format32: 0xDF)
    }

    /// An array's or map's header: the fix format below 16 entries, else a 16- or 32-bit count.
    private static func writeContainerHeader<S: MessagePackSink>(
        _ sink: inout S, count: Int, fixed: UInt8, format16: UInt8, format32: UInt8
    ) {
        if count < 16 {
            sink.write(fixed | UInt8(count))
        } else if count < 65536 {
            sink.write(format16)
            sink.write(bigEndian: UInt16(count))
        } else {
            sink.write(format32)
            sink.write(bigEndian: UInt32(truncatingIfNeeded: count))
        }
    }

    static func writeExtHeader<S: MessagePackSink>(_ sink: inout S, count: Int, type: Int8) {
        let typeByte = UInt8(bitPattern: type)
        switch count {
        case 1: sink.write(0xD4)
        case 2: sink.write(0xD5)
        case 4: sink.write(0xD6)
        case 8: sink.write(0xD7)
        case 16: sink.write(0xD8)
        case ..<256:
            sink.write(0xC7)
            sink.write(UInt8(count))
        case ..<65536:
            sink.write(0xC8)
            sink.write(bigEndian: UInt16(count))
        default:
            sink.write(0xC9)
            sink.write(bigEndian: UInt32(truncatingIfNeeded: count))
        }
        sink.write(typeByte)
    }

    /// A date as the timestamp extension (type −1) in its shortest of the 32, 64 and 96-bit forms.
    static func write<S: MessagePackSink>(_ sink: inout S, date: Date) throws(RiverCodecError) {
        // Relative to the reference date, so that the split into seconds and nanoseconds is
        // exact for the Double the Date stores.
        let reference = date.timeIntervalSinceReferenceDate
        // Described by its number: `Date.description` itself traps on a NaN or huge interval.
        func cannot() -> RiverCodecError {
            RiverCodecError("msgpack: cannot encode a date \(reference) s from 2001-01-01 as a timestamp")
        }
        guard reference.isFinite else { throw cannot() }
        var seconds = reference.rounded(.down)
        var nanos = ((reference - seconds) * 1e9).rounded()
        if nanos >= 1e9 {
            seconds += 1
            nanos -= 1e9
        }
        guard let whole = Int64(exactly: seconds), whole <= Int64.max - 978_307_200 else { throw cannot() }
        let unixSeconds = whole + 978_307_200
        let nanoseconds = UInt32(nanos)
        if unixSeconds >> 34 == 0 {
            let data64 = UInt64(nanoseconds) << 34 | UInt64(unixSeconds)
            if data64 & 0xFFFF_FFFF_0000_0000 == 0 {
                writeExtHeader(&sink, count: 4, type: -1)
                sink.write(bigEndian: UInt32(data64))
            } else {
                writeExtHeader(&sink, count: 8, type: -1)
                sink.write(bigEndian: data64)
            }
        } else {
            writeExtHeader(&sink, count: 12, type: -1)
            sink.write(bigEndian: nanoseconds)
            sink.write(bigEndian: unixSeconds)
        }
    }

    /// The largest integer a JavaScript number holds exactly.
    static let maxSafeInteger: Int64 = (1 << 53) - 1

    /// A big integer as extension type 0: msgpack of the number when it is a safe integer,
    /// else of its decimal text.
    static func write<S: MessagePackSink>(_ sink: inout S, bigInt decimal: String) throws(RiverCodecError) {
        guard BigIntText.isDecimal(decimal) else {
            throw RiverCodecError("msgpack: big integer \"\(decimal)\" is not a decimal integer")
        }
        var body = MessagePackSizer()
        if let n = Int64(decimal), n >= -maxSafeInteger, n <= maxSafeInteger {
            write(&body, int: n)
            writeExtHeader(&sink, count: body.count, type: 0)
            write(&sink, int: n)
        } else {
            write(&body, string: decimal)
            writeExtHeader(&sink, count: body.count, type: 0)
            write(&sink, string: decimal)
        }
    }

    static func write<S: MessagePackSink>(_ sink: inout S, value: RiverValue, depth: Int) throws(RiverCodecError) {
        switch value {
        case .null: writeNil(&sink)
        case .bool(let b): write(&sink, bool: b)
        case .int(let i): write(&sink, int: i)
        case .double(let d): write(&sink, double: d)
        case .string(let s): write(&sink, string: s)
        case .bytes(let bytes): write(&sink, bytes: bytes)
        case .date(let date): try write(&sink, date: date)
        case .bigInt(let decimal): try write(&sink, bigInt: decimal)
        case .array(let elements):
            guard depth < MessagePackScanner.maxDepth else {
                throw RiverCodecError("msgpack: nesting deeper than \(MessagePackScanner.maxDepth) containers")
            }
            writeArrayHeader(&sink, count: elements.count)
            for element in elements { try write(&sink, value: element, depth: depth + 1) }
        case .object(let fields):
            guard depth < MessagePackScanner.maxDepth else {
                throw RiverCodecError("msgpack: nesting deeper than \(MessagePackScanner.maxDepth) containers")
            }
            writeMapHeader(&sink, count: fields.count)
            if fields.count <= 1 || !S.keepsOrder {
                for (key, element) in fields {
                    write(&sink, string: key)
                    try write(&sink, value: element, depth: depth + 1)
                }
            } else if fields.count == 2 {
                // The common result envelope (`ok`, `payload`): ordered without sorting an array.
                var pairs = fields.makeIterator()
                guard var first = pairs.next(), var second = pairs.next() else { return }
                if second.key < first.key { swap(&first, &second) }
                write(&sink, string: first.key)
                try write(&sink, value: first.value, depth: depth + 1)
                write(&sink, string: second.key)
                try write(&sink, value: second.value, depth: depth + 1)
            } else {
                // Sorted as pairs: no second hash lookup per key.
                for (key, element) in fields.sorted(by: { $0.key < $1.key }) {
                    write(&sink, string: key)
                    try write(&sink, value: element, depth: depth + 1)
                }
            }
        }
    }
}

/// A value on its own (no envelope), written from depth 0.
extension RiverValue: MessagePackWritable {
    func write<S: MessagePackSink>(to sink: inout S) throws(RiverCodecError) {
        try MessagePackFormat.write(&sink, value: self, depth: 0)
    }
}

/// Appends to an array (which grows when its capacity runs out): for a few bytes added to an
/// array reserved for them, such as the seq and ack of a prepared message.
struct MessagePackAppender: MessagePackSink {
    static var keepsOrder: Bool { true }
    var bytes: [UInt8] = []

    mutating func write(_ byte: UInt8) { bytes.append(byte) }
    mutating func write<T: FixedWidthInteger>(bigEndian value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func write(_ source: UnsafeRawBufferPointer) { bytes.append(contentsOf: source) }
    mutating func write(utf8 string: String) { bytes.append(contentsOf: string.utf8) }
}

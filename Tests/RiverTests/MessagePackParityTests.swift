import CMsgPack
import Foundation
@testable import River
import Testing

/// The Swift msgpack writer and reader against msgpack-c, which the codec was built on until
/// they replaced it: the writer must produce msgpack-c's bytes for every value, and the reader
/// must accept exactly what msgpack-c (behind the same structural check) accepted, with the
/// same values.
@Suite("Codec: msgpack writer and reader match msgpack-c")
struct MessagePackParityTests {
    static let codec = MessagePackCodec()

    static let edgeIntegers: [Int64] = [
        .min, -(1 << 31) - 1, -(1 << 31), -32769, -32768, -129, -128, -33, -32, -1, 0, 1, 127, 128, 255, 256,
        65535, 65536, (1 << 32) - 1, 1 << 32, (1 << 53) - 1, 1 << 53, .max,
    ]
    static let edgeDoubles: [Double] = [
        0, -0.0, 1.5, -2.25, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e-300, 0.1,
    ]
    static let edgeStringLengths = [0, 1, 31, 32, 255, 256, 65535, 65536]
    static let edgeDates: [Date] = [
        Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -1), Date(timeIntervalSince1970: -1.5),
        Date(timeIntervalSince1970: 1_700_000_000), Date(timeIntervalSince1970: 1_700_000_000.123456),
        Date(timeIntervalSince1970: 4_294_967_295), Date(timeIntervalSince1970: 4_294_967_296),
        Date(timeIntervalSince1970: 17_179_869_183), Date(timeIntervalSince1970: 17_179_869_184.25),
        Date(timeIntervalSince1970: -62_135_596_800), Date(timeIntervalSinceReferenceDate: 0.999_999_999_9),
    ]

    /// One value of every kind and every format boundary.
    static var edgeValues: [RiverValue] {
        var values: [RiverValue] = [.null, true, false]
        values += edgeIntegers.map { .int($0) }
        values += edgeDoubles.map { .double($0) }
        values += edgeStringLengths.map { .string(String(repeating: "a", count: $0)) }
        values += ["é", "日本語", "👩‍👩‍👧", "a\u{0}b", String(repeating: "ü", count: 200)].map { .string($0) }
        values += edgeStringLengths.map { .bytes([UInt8](repeating: 7, count: $0)) }
        values += edgeDates.map { .date($0) }
        values += ["0", "-1", "9007199254740991", "-9007199254740991", "9007199254740992", "-9007199254740992",
                   "18446744073709551616", "-123456789012345678901234567890"].map { .bigInt($0) }
        values += [15, 16, 65535, 65536].map { count in .array((0..<count).map { .int(Int64($0 % 300)) }) }
        values += [15, 16, 65536].map { count in
            .object(Dictionary(uniqueKeysWithValues: (0..<count).map { ("k\($0)", RiverValue.int(Int64($0))) }))
        }
        values.append(["b": 1, "a": 2, "é": 3, "Z": 4, "": 5, "aa": 6, "日": 7, "😀": 8])
        values.append(["ok": true, "payload": ["result": 3]])
        values.append(["n": .null, "list": [1, .null, ["x": [.bytes([1, 2])]]], "when": .date(edgeDates[4])])
        return values
    }

    @Test("the writer produces msgpack-c's bytes for every format boundary")
    func writerMatchesEdges() throws {
        for value in Self.edgeValues {
            #expect(try Self.codec.encodeValue(value) == Oracle.encode(value), "\(value.kindName)")
        }
    }

    @Test("the writer produces msgpack-c's bytes for random nested values")
    func writerMatchesRandom() throws {
        var rng = SplitMix64(seed: 16)
        for _ in 0..<2000 {
            let value = RandomValue.make(&rng, depth: 0)
            #expect(try Self.codec.encodeValue(value) == Oracle.encode(value))
        }
    }

    @Test("a message carries its payload as msgpack-c writes it, and reads back to the same bytes")
    func envelopeMatches() throws {
        var rng = SplitMix64(seed: 61)
        for round in 0..<300 {
            let payload = RandomValue.make(&rng, depth: 0)
            var message = CodecRoundTripTests.sampleMessage(payload: payload)
            message.seq = Int(rng.next() % 100_000)
            if round % 3 == 0 { message.serviceName = nil; message.procedureName = nil; message.tracing = nil }
            let encoded = try Self.codec.encode(message)
            // Read back and written again: the same bytes (values compare through their
            // encoding: NaN, and big integers and dates normalised by the first write).
            #expect(try Self.codec.encode(Self.codec.decode(encoded)) == encoded)
            // The payload sits in the frame exactly as msgpack-c writes it on its own.
            let oracle = try Oracle.encode(payload)
            #expect(encoded.firstRange(of: oracle) != nil)
        }
    }

    @Test("edge values read back as msgpack-c reads them")
    func readerMatchesEdges() throws {
        for value in Self.edgeValues {
            let bytes = try Oracle.encode(value)
            try Self.expectSameReading(bytes)
        }
    }

    @Test("random msgpack in every format (not only the shortest) reads as msgpack-c reads it")
    func readerMatchesAnyFormat() throws {
        var rng = SplitMix64(seed: 23)
        for _ in 0..<3000 {
            var bytes: [UInt8] = []
            RandomBytes.value(&rng, depth: 0, into: &bytes)
            try Self.expectSameReading(bytes)
        }
    }

    @Test("corrupted frames fail or succeed as with msgpack-c, with the same values")
    func readerMatchesCorruption() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<3000 {
            var bytes: [UInt8] = []
            RandomBytes.value(&rng, depth: 0, into: &bytes)
            for _ in 0..<(1 + Int(rng.next() % 3)) where !bytes.isEmpty {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            try Self.expectSameReading(bytes)
        }
    }

    /// Both readers succeed with the same value (compared by its canonical encoding, so NaN
    /// compares), or both fail.
    static func expectSameReading(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let mine = Result { () throws(RiverCodecError) in try codec.decodeValue(bytes) }
        let theirs = Result { () throws(RiverCodecError) in try Oracle.decode(bytes) }
        switch (mine, theirs) {
        case (.success(let a), .success(let b)):
            // Dates too far out to write again compare by their time interval.
            let same = (try? codec.encodeValue(a)).map { $0 == (try? codec.encodeValue(b)) } ?? (a == b || "\(a)" == "\(b)")
            #expect(same, "\(bytes.prefix(32))", sourceLocation: sourceLocation)
        case (.failure, .failure):
            break
        case (.success(let a), .failure(let error)):
            Issue.record("read \(a.kindName) where msgpack-c failed (\(error)) from \(bytes.prefix(32))", sourceLocation: sourceLocation)
        case (.failure(let error), .success(let b)):
            Issue.record("failed (\(error)) where msgpack-c read \(b.kindName) from \(bytes.prefix(32))", sourceLocation: sourceLocation)
        }
    }
}

/// Seeded random values of every kind, nested.
enum RandomValue {
    static func make(_ rng: inout SplitMix64, depth: Int) -> RiverValue {
        let kinds: UInt64 = depth >= 4 ? 8 : 10
        switch rng.next() % kinds {
        case 0: return .null
        case 1: return .bool(rng.next() % 2 == 0)
        case 2:
            let shift = rng.next() % 64
            return .int(Int64(bitPattern: rng.next()) >> shift)
        case 3: return .double(Double(bitPattern: rng.next()))
        case 4: return .string(string(&rng))
        case 5: return .bytes((0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        case 6: return .date(Date(timeIntervalSince1970: Double(Int64(bitPattern: rng.next()) % 40_000_000_000) / 8))
        case 7:
            let digits = (0..<(1 + Int(rng.next() % 30))).map { _ in String(rng.next() % 10) }.joined()
            return .bigInt((rng.next() % 2 == 0 ? "-" : "") + digits)
        case 8: return .array((0..<Int(rng.next() % 20)).map { _ in make(&rng, depth: depth + 1) })
        default:
            var fields: [String: RiverValue] = [:]
            for _ in 0..<Int(rng.next() % 20) { fields[string(&rng)] = make(&rng, depth: depth + 1) }
            return .object(fields)
        }
    }

    static func string(_ rng: inout SplitMix64) -> String {
        let alphabet: [Character] = ["a", "b", "Z", "0", " ", "é", "ß", "日", "😀", "\u{0}", "_"]
        let length = rng.next() % 4 == 0 ? Int(rng.next() % 300) : Int(rng.next() % 12)
        return String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }
}

/// Random well-formed msgpack in any of its formats (non-shortest integers, float32, str8 for
/// short text, every ext form), including the timestamp and big-integer extensions.
enum RandomBytes {
    static func value(_ rng: inout SplitMix64, depth: Int, into bytes: inout [UInt8]) {
        func be<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.bigEndian) { bytes += $0 } }
        let kinds: UInt64 = depth >= 4 ? 9 : 11
        switch rng.next() % kinds {
        case 0: bytes.append([0xC0, 0xC2, 0xC3][Int(rng.next() % 3)])
        case 1:
            switch rng.next() % 10 {
            case 0: bytes.append(UInt8(rng.next() % 0x80))
            case 1: bytes.append(0xE0 | UInt8(rng.next() % 32))
            case 2: bytes += [0xCC, UInt8(truncatingIfNeeded: rng.next())]
            case 3: bytes.append(0xCD); be(UInt16(truncatingIfNeeded: rng.next()))
            case 4: bytes.append(0xCE); be(UInt32(truncatingIfNeeded: rng.next()))
            case 5: bytes.append(0xCF); be(rng.next())
            case 6: bytes += [0xD0, UInt8(truncatingIfNeeded: rng.next())]
            case 7: bytes.append(0xD1); be(UInt16(truncatingIfNeeded: rng.next()))
            case 8: bytes.append(0xD2); be(UInt32(truncatingIfNeeded: rng.next()))
            default: bytes.append(0xD3); be(rng.next())
            }
        case 2:
            if rng.next() % 2 == 0 { bytes.append(0xCA); be(UInt32(truncatingIfNeeded: rng.next())) } else { bytes.append(0xCB); be(rng.next()) }
        case 3, 4:
            let text = Array(RandomValue.string(&rng).utf8) + (rng.next() % 20 == 0 ? [0xFF] : [])
            header(&rng, count: text.count, fix: (0xA0, 32), sized: (0xD9, 0xDA, 0xDB), into: &bytes)
            bytes += text
        case 5:
            let body = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            header(&rng, count: body.count, fix: nil, sized: (0xC4, 0xC5, 0xC6), into: &bytes)
            bytes += body
        case 6, 7, 8: ext(&rng, into: &bytes)
        case 9:
            let count = Int(rng.next() % 6)
            header(&rng, count: count, fix: (0x90, 16), sized: (nil, 0xDC, 0xDD), into: &bytes)
            for _ in 0..<count { value(&rng, depth: depth + 1, into: &bytes) }
        default:
            let count = Int(rng.next() % 6)
            header(&rng, count: count, fix: (0x80, 16), sized: (nil, 0xDE, 0xDF), into: &bytes)
            for _ in 0..<count {
                if rng.next() % 10 == 0 {
                    value(&rng, depth: depth + 1, into: &bytes)  // mostly not a str: a bad key
                } else {
                    let key = Array(RandomValue.string(&rng).utf8)
                    header(&rng, count: key.count, fix: (0xA0, 32), sized: (0xD9, 0xDA, 0xDB), into: &bytes)
                    bytes += key
                }
                value(&rng, depth: depth + 1, into: &bytes)
            }
        }
    }

    /// A header for `count` in a random one of the formats that can hold it: the fix format
    /// (`fix.0 | count`, below `fix.1`) or a format with a 1, 2 or 4-byte length.
    private static func header(
        _ rng: inout SplitMix64, count: Int, fix: (UInt8, Int)?, sized: (UInt8?, UInt8, UInt8), into bytes: inout [UInt8]
    ) {
        var choices: [Int] = [2, 4]
        if sized.0 != nil, count < 256 { choices.append(1) }
        if let fix, count < fix.1 { choices.append(0) }
        switch choices[Int(rng.next() % UInt64(choices.count))] {
        case 0: bytes.append((fix?.0 ?? 0) | UInt8(count))
        case 1: bytes += [sized.0 ?? 0, UInt8(count)]
        case 2: bytes.append(sized.1); withUnsafeBytes(of: UInt16(count).bigEndian) { bytes += $0 }
        default: bytes.append(sized.2); withUnsafeBytes(of: UInt32(count).bigEndian) { bytes += $0 }
        }
    }

    private static func ext(_ rng: inout SplitMix64, into bytes: inout [UInt8]) {
        var body: [UInt8]
        let type: Int8
        switch rng.next() % 4 {
        case 0, 1:
            type = -1
            body = (0..<[4, 8, 12, 5][Int(rng.next() % 4)]).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if body.count == 8 && rng.next() % 2 == 0 { body[0] &= 0x0F }
            if body.count == 12 && rng.next() % 2 == 0 { body[0] = 0 }
        case 2:
            type = 0
            body = []
            value(&rng, depth: 5, into: &body)
        default:
            type = Int8(truncatingIfNeeded: rng.next() % 4)
            body = [1]
        }
        switch (body.count, rng.next() % 2) {
        case (1, 0): bytes.append(0xD4)
        case (2, 0): bytes.append(0xD5)
        case (4, 0): bytes.append(0xD6)
        case (8, 0): bytes.append(0xD7)
        case (16, 0): bytes.append(0xD8)
        case (..<256, _):
            bytes.append(0xC7)
            bytes.append(UInt8(body.count))
        default:
            bytes.append(0xC8)
            withUnsafeBytes(of: UInt16(body.count).bigEndian) { bytes += $0 }
        }
        bytes.append(UInt8(bitPattern: type))
        bytes += body
    }
}

/// The codec as it was on msgpack-c (its packer, and its unpacker behind the structural
/// check), kept as the reference the Swift writer and reader are held to.
enum Oracle {
    static func encode(_ value: RiverValue) throws(RiverCodecError) -> [UInt8] {
        var buffer = msgpack_sbuffer()
        msgpack_sbuffer_init(&buffer)
        defer { msgpack_sbuffer_destroy(&buffer) }
        var packer = msgpack_packer()
        msgpack_packer_init(&packer, &buffer, river_msgpack_sbuffer_write)
        try pack(&packer, value)
        guard let data = buffer.data else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: buffer.size))
    }

    private static func pack(_ pk: UnsafeMutablePointer<msgpack_packer>, _ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            msgpack_pack_str(pk, utf8.count)
            if let base = utf8.baseAddress { msgpack_pack_str_body(pk, base, utf8.count) }
        }
    }

    private static func pack(_ pk: UnsafeMutablePointer<msgpack_packer>, _ value: RiverValue) throws(RiverCodecError) {
        switch value {
        case .null: msgpack_pack_nil(pk)
        case .bool(let b): if b { msgpack_pack_true(pk) } else { msgpack_pack_false(pk) }
        case .int(let i): msgpack_pack_int64(pk, i)
        case .double(let d): msgpack_pack_double(pk, d)
        case .string(let s): pack(pk, s)
        case .bytes(let bytes):
            msgpack_pack_bin(pk, bytes.count)
            bytes.withUnsafeBufferPointer { _ = msgpack_pack_bin_body(pk, $0.baseAddress, $0.count) }
        case .date(let date):
            let reference = date.timeIntervalSinceReferenceDate
            var seconds = reference.rounded(.down)
            var nanos = ((reference - seconds) * 1e9).rounded()
            if nanos >= 1e9 {
                seconds += 1
                nanos -= 1e9
            }
            guard let whole = Int64(exactly: seconds) else { throw RiverCodecError("date") }
            var timestamp = msgpack_timestamp(tv_sec: whole + 978_307_200, tv_nsec: UInt32(nanos))
            msgpack_pack_timestamp(pk, &timestamp)
        case .bigInt(let decimal):
            let body: [UInt8]
            if let n = Int64(decimal), n >= -((1 << 53) - 1), n <= (1 << 53) - 1 {
                body = try encode(.int(n))
            } else {
                body = try encode(.string(decimal))
            }
            msgpack_pack_ext(pk, body.count, 0)
            body.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { _ = msgpack_pack_ext_body(pk, $0.baseAddress, $0.count) } }
        case .array(let elements):
            msgpack_pack_array(pk, elements.count)
            for element in elements { try pack(pk, element) }
        case .object(let fields):
            msgpack_pack_map(pk, fields.count)
            for (key, element) in fields.sorted(by: { $0.key < $1.key }) {
                pack(pk, key)
                try pack(pk, element)
            }
        }
    }

    static func decode(_ bytes: [UInt8]) throws(RiverCodecError) -> RiverValue {
        try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(RiverCodecError) -> RiverValue in
            let raw = UnsafeRawBufferPointer(buffer)
            // The codec's structural check, which ran before msgpack-c saw a frame.
            try MessagePackScanner.validate(raw)
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else { throw RiverCodecError("empty") }
            var unpacked = msgpack_unpacked()
            msgpack_unpacked_init(&unpacked)
            defer { msgpack_unpacked_destroy(&unpacked) }
            var offset = 0
            guard msgpack_unpack_next(&unpacked, base, raw.count, &offset) == MSGPACK_UNPACK_SUCCESS, offset == raw.count else {
                throw RiverCodecError("malformed")
            }
            return try value(unpacked.data)
        }
    }

    private static func string(_ str: msgpack_object_str) throws(RiverCodecError) -> String {
        guard str.size > 0, let ptr = str.ptr else { return "" }
        let buffer = UnsafeRawBufferPointer(start: ptr, count: Int(str.size)).bindMemory(to: UInt8.self)
        guard let s = String(validating: buffer, as: UTF8.self) else { throw RiverCodecError("utf8") }
        return s
    }

    private static func value(_ object: msgpack_object) throws(RiverCodecError) -> RiverValue {
        switch object.type {
        case MSGPACK_OBJECT_NIL: return .null
        case MSGPACK_OBJECT_BOOLEAN: return .bool(object.via.boolean)
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            let u = object.via.u64
            return u <= UInt64(Int64.max) ? .int(Int64(u)) : .bigInt(String(u))
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return .int(object.via.i64)
        case MSGPACK_OBJECT_FLOAT32, MSGPACK_OBJECT_FLOAT64: return .double(object.via.f64)
        case MSGPACK_OBJECT_STR: return .string(try string(object.via.str))
        case MSGPACK_OBJECT_BIN:
            let bin = object.via.bin
            guard bin.size > 0, let ptr = bin.ptr else { return .bytes([]) }
            return .bytes(Array(UnsafeRawBufferPointer(start: ptr, count: Int(bin.size))))
        case MSGPACK_OBJECT_ARRAY:
            let array = object.via.array
            guard let ptr = array.ptr else { return .array([]) }
            var elements: [RiverValue] = []
            for i in 0..<Int(array.size) { elements.append(try value(ptr[i])) }
            return .array(elements)
        case MSGPACK_OBJECT_MAP:
            let map = object.via.map
            var fields: [String: RiverValue] = [:]
            if let ptr = map.ptr {
                for i in 0..<Int(map.size) {
                    guard ptr[i].key.type == MSGPACK_OBJECT_STR else { throw RiverCodecError("key") }
                    fields[try string(ptr[i].key.via.str)] = try value(ptr[i].val)
                }
            }
            return .object(fields)
        case MSGPACK_OBJECT_EXT:
            let ext = object.via.ext
            switch ext.type {
            case -1:
                var object = object
                var timestamp = msgpack_timestamp()
                guard msgpack_object_to_timestamp(&object, &timestamp), timestamp.tv_nsec < 1_000_000_000 else {
                    throw RiverCodecError("timestamp")
                }
                let tvSec = timestamp.tv_sec
                let seconds = tvSec >= Int64.min + 978_307_200 ? Double(tvSec - 978_307_200) : Double(tvSec) - 978_307_200
                return .date(Date(timeIntervalSinceReferenceDate: seconds + Double(timestamp.tv_nsec) * 1e-9))
            case 0:
                guard ext.size > 0, let ptr = ext.ptr else { throw RiverCodecError("bigint") }
                let raw = UnsafeRawBufferPointer(start: ptr, count: Int(ext.size))
                try MessagePackScanner.validate(raw)
                var unpacked = msgpack_unpacked()
                msgpack_unpacked_init(&unpacked)
                defer { msgpack_unpacked_destroy(&unpacked) }
                var offset = 0
                guard msgpack_unpack_next(&unpacked, ptr, Int(ext.size), &offset) == MSGPACK_UNPACK_SUCCESS else {
                    throw RiverCodecError("bigint")
                }
                let body = unpacked.data
                switch body.type {
                case MSGPACK_OBJECT_POSITIVE_INTEGER: return .bigInt(String(body.via.u64))
                case MSGPACK_OBJECT_NEGATIVE_INTEGER: return .bigInt(String(body.via.i64))
                case MSGPACK_OBJECT_FLOAT64, MSGPACK_OBJECT_FLOAT32:
                    let d = body.via.f64
                    guard d.isFinite, d.rounded(.towardZero) == d, let i = Int64(exactly: d) else { throw RiverCodecError("bigint") }
                    return .bigInt(String(i))
                case MSGPACK_OBJECT_STR:
                    let text = try string(body.via.str)
                    guard BigIntText.isDecimal(text) else { throw RiverCodecError("bigint") }
                    return .bigInt(text)
                default: throw RiverCodecError("bigint")
                }
            default: throw RiverCodecError("ext")
            }
        default: throw RiverCodecError("type")
        }
    }
}

/// Appends protobuf wire-format primitives to a byte buffer.
struct ProtobufWireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func tag(_ number: Int32, wireType: UInt64) {
        varint(UInt64(UInt32(bitPattern: number)) << 3 | wireType)
    }

    mutating func fixed32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func fixed64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func lengthDelimited(_ body: [UInt8]) {
        varint(UInt64(body.count))
        bytes.append(contentsOf: body)
    }
}

/// Reads protobuf wire-format primitives, throwing on truncation.
struct ProtobufWireReader {
    let bytes: [UInt8]
    var offset = 0

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func varint() throws(DynamicProtobufError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count, shift < 64 else { throw DynamicProtobufError("malformed varint at byte \(offset)") }
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func fixed32() throws(DynamicProtobufError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw DynamicProtobufError("truncated fixed32 at byte \(offset)") }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << UInt32(8 * index) }
        offset += 4
        return value
    }

    mutating func fixed64() throws(DynamicProtobufError) -> UInt64 {
        guard bytes.count - offset >= 8 else { throw DynamicProtobufError("truncated fixed64 at byte \(offset)") }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << UInt64(8 * index) }
        offset += 8
        return value
    }

    mutating func lengthDelimited() throws(DynamicProtobufError) -> [UInt8] {
        let length = try varint()
        guard length <= UInt64(bytes.count - offset) else { throw DynamicProtobufError("truncated length-delimited field at byte \(offset)") }
        defer { offset += Int(length) }
        return Array(bytes[offset..<offset + Int(length)])
    }

    /// Skips one field's value of `wireType`.
    mutating func skip(wireType: UInt64) throws(DynamicProtobufError) {
        switch wireType {
        case 0: _ = try varint()
        case 1: _ = try fixed64()
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw DynamicProtobufError("unsupported wire type \(wireType) at byte \(offset)")
        }
    }
}

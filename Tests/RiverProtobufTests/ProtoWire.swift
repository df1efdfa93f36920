/// A minimal protobuf wire-format reader for tests: the top-level fields of a message in wire
/// order, with their raw value bytes.
enum ProtoWire {
    struct Field: Equatable {
        var number: Int
        var wireType: Int
        var value: [UInt8]
    }

    struct Malformed: Error {}

    static func fields(_ bytes: [UInt8]) throws -> [Field] {
        var fields: [Field] = []
        var offset = 0
        func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard offset < bytes.count, shift < 64 else { throw Malformed() }
                let byte = bytes[offset]
                offset += 1
                result |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        while offset < bytes.count {
            let key = try varint()
            let number = Int(key >> 3)
            let wireType = Int(key & 7)
            let start = offset
            switch wireType {
            case 0: _ = try varint()
            case 1: offset += 8
            case 2:
                let length = Int(try varint())
                offset += length
            case 5: offset += 4
            default: throw Malformed()
            }
            guard offset <= bytes.count else { throw Malformed() }
            var value = Array(bytes[start..<offset])
            if wireType == 2, let lengthEnd = value.firstIndex(where: { $0 & 0x80 == 0 }) {
                value.removeFirst(lengthEnd + 1)
            }
            fields.append(Field(number: number, wireType: wireType, value: value))
        }
        return fields
    }
}

import Testing

/// Frames as a server writes them (unmasked unless a mask key is given), with the shortest
/// length encoding, and the same frames masked as a client writes them.
enum ServerFrame {
    static func frame(
        opcode: UInt8, fin: Bool = true, payload: [UInt8], reserved: UInt8 = 0, maskKey: [UInt8]? = nil
    ) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | reserved | opcode]
        let mask: UInt8 = maskKey == nil ? 0 : 0x80
        switch payload.count {
        case ..<126:
            bytes.append(mask | UInt8(payload.count))
        case ..<65_536:
            bytes += [mask | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            bytes.append(mask | 127)
            bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(payload.count) >> ($0 * 8)) }
        }
        guard let maskKey else { return bytes + payload }
        return bytes + maskKey + payload.enumerated().map { $0.element ^ maskKey[$0.offset % 4] }
    }

    /// A close frame with `code` and `reason`.
    static func close(code: UInt16, reason: String = "") -> [UInt8] {
        frame(opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8))
    }

    /// `bytes` (unmasked frames, the last possibly cut short) as a client sends them: each
    /// frame's mask bit set, a key after its length, its payload masked. The keys are `keys` in
    /// turn.
    static func masked(_ bytes: [UInt8], keys: [[UInt8]] = [[0x12, 0x34, 0x56, 0x78], [0xA1, 0xB2, 0xC3, 0xD4]]) -> [UInt8] {
        var masked: [UInt8] = []
        var offset = 0
        var frameIndex = 0
        while offset + 2 <= bytes.count {
            let short = Int(bytes[offset + 1] & 0x7F)
            let lengthSize = short == 126 ? 2 : short == 127 ? 8 : 0
            let payloadStart = min(bytes.count, offset + 2 + lengthSize)
            let announced = short < 126
                ? UInt64(short) : bytes[(offset + 2)..<payloadStart].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let payloadEnd = payloadStart + Int(min(announced, UInt64(bytes.count - payloadStart)))
            let key = keys[frameIndex % keys.count]
            masked += [bytes[offset], bytes[offset + 1] | 0x80] + bytes[(offset + 2)..<payloadStart] + key
            masked += bytes[payloadStart..<payloadEnd].enumerated().map { $0.element ^ key[$0.offset % 4] }
            offset = payloadEnd
            frameIndex += 1
        }
        return masked + bytes[offset...]
    }
}

/// Server bytes a client must fail the connection for (with 1002), named for test output.
struct ViolatingFrame: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    var testDescription: String { name }
}

import Testing

/// Frames as a server writes them (unmasked unless a mask key is given), with the shortest
/// length encoding.
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
}

/// Server bytes a client must fail the connection for (with 1002), named for test output.
struct ViolatingFrame: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    var testDescription: String { name }
}

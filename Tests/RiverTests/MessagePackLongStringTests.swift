import River
import Testing

/// A msgpack `str` of 1,024 bytes or more is validated by `String(validating:)` alone (no ASCII
/// pre-check): it must still take ASCII and multi-byte UTF-8 as they are and refuse invalid
/// UTF-8 wherever it lies, as a short one does.
@Suite("MessagePack: long strings")
struct MessagePackLongStringTests {
    /// `utf8` as a msgpack str 32.
    static func str32(_ utf8: [UInt8]) -> [UInt8] {
        let count = UInt32(utf8.count)
        return [0xDB, UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)] + utf8
    }

    @Test("ASCII and multi-byte text around the length where the path changes decode exactly", arguments: [1023, 1024, 1025, 70_000])
    func validText(length: Int) throws {
        let codec = MessagePackCodec()
        let ascii = String(repeating: "r", count: length)
        #expect(try codec.decodeValue(Self.str32(Array(ascii.utf8))) == .string(ascii))
        let mixed = String(repeating: "é€😀a", count: length / 10 + 1)
        #expect(try codec.decodeValue(Self.str32(Array(mixed.utf8))) == .string(mixed))
    }

    @Test("invalid UTF-8 in a long str is refused, at its start, middle or end", arguments: [0, 700, 2047])
    func invalidText(offset: Int) {
        var utf8 = [UInt8](repeating: 0x61, count: 2048)
        utf8[offset] = 0xFF
        #expect(throws: RiverCodecError.self) { try MessagePackCodec().decodeValue(Self.str32(utf8)) }
        // A truncated sequence at the very end.
        var truncated = [UInt8](repeating: 0x61, count: 2048)
        truncated[2046] = 0xE2
        truncated[2047] = 0x82
        #expect(throws: RiverCodecError.self) { try MessagePackCodec().decodeValue(Self.str32(truncated)) }
    }
}

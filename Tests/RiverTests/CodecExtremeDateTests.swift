import Foundation
import River
import Testing

/// Dates far outside any calendar still in use are an encoding error or a value, never a trap
/// (a `Date` is user input; a timestamp is network input).
@Suite("Codec: extreme dates")
struct CodecExtremeDateTests {
    @Test("msgpack: dates at the ends of the timestamp's range are errors or values, never a trap")
    func extremeDates() throws {
        // Seconds beyond what the 96-bit timestamp's Int64 holds once moved to 1970.
        #expect(throws: RiverCodecError.self) {
            try MessagePackCodec().encodeValue(.date(Date(timeIntervalSinceReferenceDate: 9.223_372_036_854e18)))
        }
        #expect(throws: RiverCodecError.self) { try MessagePackCodec().encodeValue(.date(Date(timeIntervalSinceReferenceDate: .nan))) }
        // A 96-bit timestamp of Int64.min seconds (1970-based) reads as a date, not an overflow.
        var bytes: [UInt8] = [0xC7, 12, 0xFF, 0, 0, 0, 0]
        withUnsafeBytes(of: Int64.min.bigEndian) { bytes += $0 }
        guard case .date(let date) = try MessagePackCodec().decodeValue(bytes) else {
            Issue.record("not a date")
            return
        }
        #expect(date.timeIntervalSince1970 == Double(Int64.min))
    }

    @Test("json: a date at the far end of Date's range is written, not a trap")
    func extremeJSONDates() throws {
        for seconds in [-9.2e15, 9.2e15, -1e300] {
            #expect(try !JSONCodec().encodeValue(.date(Date(timeIntervalSince1970: seconds))).isEmpty)
        }
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The date text of JavaScript's `Date.prototype.toISOString` (what `JSON.stringify` writes
/// for a `Date`): `YYYY-MM-DDTHH:mm:ss.sssZ`, millisecond precision, UTC, with the
/// six-digit signed year form outside 0000–9999.
enum ISO8601 {
    /// Formats `date` like `toISOString`, rounded to the nearest millisecond (JavaScript dates
    /// hold whole milliseconds).
    static func format(_ date: Date) -> String {
        let totalMs = (date.timeIntervalSince1970 * 1000).rounded()
        // Clamped so the day arithmetic below cannot overflow (±146 million years).
        let ms = min(max(Int64(exactly: totalMs) ?? 0, Int64.min / 2), Int64.max / 2)
        var days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let msOfDay = ms - days * 86_400_000
        // Civil-from-days (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var year = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        if month <= 2 { year += 1 }

        var out: [UInt8] = []
        out.reserveCapacity(27)
        func digits(_ value: Int64, _ width: Int) {
            var buffer = [UInt8](repeating: UInt8(ascii: "0"), count: width)
            var v = value
            var i = width - 1
            while i >= 0 {
                buffer[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                i -= 1
            }
            out.append(contentsOf: buffer)
        }
        if year >= 0 && year <= 9999 {
            digits(year, 4)
        } else {
            out.append(year < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            digits(abs(year), 6)
        }
        out.append(UInt8(ascii: "-")); digits(month, 2)
        out.append(UInt8(ascii: "-")); digits(day, 2)
        out.append(UInt8(ascii: "T")); digits(msOfDay / 3_600_000, 2)
        out.append(UInt8(ascii: ":")); digits(msOfDay / 60_000 % 60, 2)
        out.append(UInt8(ascii: ":")); digits(msOfDay / 1000 % 60, 2)
        out.append(UInt8(ascii: ".")); digits(msOfDay % 1000, 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses ISO 8601 date-time text: `[+-YY]YYYY-MM-DDTHH:mm[:ss[.fraction]](Z|±HH:mm)`,
    /// or a bare date `YYYY-MM-DD` (midnight UTC, as JavaScript reads it).
    /// - Returns: The date, or `nil` when the text is not in that form.
    static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int64? {
            guard i + width <= b.count else { return nil }
            var v: Int64 = 0
            for k in i..<(i + width) {
                let c = b[k]
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int64(c - UInt8(ascii: "0"))
            }
            i += width
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, let ascii = c.asciiValue, b[i] == ascii else { return false }
            i += 1
            return true
        }
        var year: Int64
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let negative = b[i] == UInt8(ascii: "-")
            i += 1
            guard let y = number(6) else { return nil }
            year = negative ? -y : y
        } else {
            guard let y = number(4) else { return nil }
            year = y
        }
        guard expect("-"), let month = number(2), expect("-"), let day = number(2),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var seconds: Double = 0
        var offset: Int64 = 0
        if i < b.count {
            guard expect("T") || expect("t") || expect(" "), let hour = number(2), expect(":"), let minute = number(2),
                hour <= 24, minute <= 59
            else { return nil }
            var second: Int64 = 0
            var fraction: Double = 0
            if expect(":") {
                guard let s = number(2), s <= 60 else { return nil }
                second = s
                if expect(".") || expect(",") {
                    var digits: Int64 = 0
                    var scale: Double = 1
                    var count = 0
                    while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") {
                        if count < 15 {
                            digits = digits * 10 + Int64(b[i] - UInt8(ascii: "0"))
                            scale *= 10
                        }
                        count += 1
                        i += 1
                    }
                    guard count > 0 else { return nil }
                    fraction = Double(digits) / scale
                }
            }
            if expect("Z") || expect("z") {
                offset = 0
            } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let oh = number(2) else { return nil }
                _ = expect(":")
                guard let om = number(2) else { return nil }
                offset = sign * (oh * 3600 + om * 60)
            } else {
                return nil
            }
            seconds = Double(hour * 3600 + minute * 60 + second - offset) + fraction
        }
        guard i == b.count else { return nil }
        // Days-from-civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Date(timeIntervalSince1970: Double(days) * 86_400 + seconds)
    }
}

/// A strict JSON parser (RFC 8259) over UTF-8 bytes that produces ``RiverValue``s with
/// River's conventions: `{"$t": base64}` → bytes, `{"$b": decimal}` → big integer, integral
/// numbers that fit 64 bits → ``RiverValue/int(_:)``, every other number → ``RiverValue/double(_:)``.
///
/// Invalid UTF-8, control characters inside strings, trailing garbage and nesting deeper
/// than ``maxDepth`` are errors. A lone UTF-16 surrogate in a `\u` escape becomes U+FFFD.
struct JSONReader: ~Copyable {
    /// The deepest container nesting accepted.
    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var pos = 0
    /// Scratch space for strings with escapes, reused across strings.
    private var scratch: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func error(_ text: String) -> RiverCodecError {
        RiverCodecError("json: \(text) at offset \(pos)")
    }

    private var atEnd: Bool { pos >= bytes.count }

    @inline(__always)
    private mutating func skipWhitespace() {
        while pos < bytes.count {
            let c = bytes[pos]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            pos += 1
        }
    }

    @inline(__always)
    private mutating func expect(_ c: UInt8, _ what: String) throws(RiverCodecError) {
        skipWhitespace()
        guard pos < bytes.count, bytes[pos] == c else {
            throw error(pos < bytes.count ? "expected \(what)" : "unexpected end of input, expected \(what)")
        }
        pos += 1
    }

    /// Parses a whole envelope: one object whose keys go to `builder`, then only whitespace.
    mutating func envelope(into builder: inout EnvelopeBuilder) throws(RiverCodecError) {
        try expect(UInt8(ascii: "{"), "'{' (a message is a JSON object)")
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
        } else {
            while true {
                skipWhitespace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                pos += 1
                let keyStart = pos
                let key = try stringBody()
                let rawKey = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[keyStart..<(pos - 1)])
                try expect(UInt8(ascii: ":"), "':'")
                let element = try value(depth: 1)
                if let known = EnvelopeKey.lookup(utf8: rawKey) {
                    try builder.set(known, element)
                } else {
                    try builder.set(key, element)
                }
                skipWhitespace()
                guard pos < bytes.count else { throw error("unexpected end of input in object") }
                let c = bytes[pos]
                pos += 1
                if c == UInt8(ascii: "}") { break }
                guard c == UInt8(ascii: ",") else { pos -= 1; throw error("expected ',' or '}'") }
            }
        }
        try finish()
    }

    /// Requires that only whitespace is left.
    mutating func finish() throws(RiverCodecError) {
        skipWhitespace()
        guard atEnd else { throw error("trailing characters after the JSON value") }
    }

    /// Parses one value.
    mutating func value(depth: Int) throws(RiverCodecError) -> RiverValue {
        skipWhitespace()
        guard pos < bytes.count else { throw error("unexpected end of input, expected a value") }
        let c = bytes[pos]
        switch c {
        case UInt8(ascii: "\""):
            pos += 1
            return .string(try stringBody())
        case UInt8(ascii: "{"):
            pos += 1
            return try object(depth: depth + 1)
        case UInt8(ascii: "["):
            pos += 1
            return try array(depth: depth + 1)
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        default:
            throw error("unexpected character '\(Unicode.Scalar(c).escaped(asASCII: true))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws(RiverCodecError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= bytes.count else { throw error("invalid literal") }
        let p = word.utf8Start
        for i in 0..<n where bytes[pos + i] != p[i] { throw error("invalid literal") }
        pos += n
    }

    private mutating func object(depth: Int) throws(RiverCodecError) -> RiverValue {
        guard depth <= Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        var fields: [String: RiverValue] = [:]
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(fields)
        }
        while true {
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else {
                throw error(pos < bytes.count ? "expected a string key" : "unexpected end of input in object")
            }
            pos += 1
            let key = try stringBody()
            try expect(UInt8(ascii: ":"), "':'")
            fields[key] = try value(depth: depth)
            skipWhitespace()
            guard pos < bytes.count else { throw error("unexpected end of input in object") }
            let c = bytes[pos]
            pos += 1
            if c == UInt8(ascii: "}") { break }
            guard c == UInt8(ascii: ",") else { pos -= 1; throw error("expected ',' or '}'") }
        }
        if fields.count == 1 {
            if case .string(let base64)? = fields["$t"] {
                guard let decoded = Base64.decode(base64.utf8) else { throw error("invalid base64 in \"$t\"") }
                return .bytes(decoded)
            }
            if case .string(let decimal)? = fields["$b"] {
                guard BigIntText.isDecimal(decimal) else { throw error("invalid big integer in \"$b\"") }
                return .bigInt(decimal)
            }
        }
        return .object(fields)
    }

    private mutating func array(depth: Int) throws(RiverCodecError) -> RiverValue {
        guard depth <= Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        var elements: [RiverValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth))
            skipWhitespace()
            guard pos < bytes.count else { throw error("unexpected end of input in array") }
            let c = bytes[pos]
            pos += 1
            if c == UInt8(ascii: "]") { break }
            guard c == UInt8(ascii: ",") else { pos -= 1; throw error("expected ',' or ']'") }
        }
        return .array(elements)
    }

    // MARK: Strings

    private static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private mutating func hex4() throws(RiverCodecError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for i in 0..<4 {
            guard let h = Self.hexValue(bytes[pos + i]) else { throw error("invalid \\u escape") }
            v = v << 4 | h
        }
        pos += 4
        return v
    }

    /// Parses a string's body; `pos` is just past the opening quote.
    private mutating func stringBody() throws(RiverCodecError) -> String {
        let start = pos
        var nonASCII = false
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<pos])
                pos += 1
                if !nonASCII { return String(decoding: slice, as: UTF8.self) }
                guard let s = String(validating: slice, as: UTF8.self) else {
                    pos = start
                    throw error("invalid UTF-8 in string")
                }
                return s
            }
            if c == UInt8(ascii: "\\") { return try escapedString(from: start) }
            if c < 0x20 { throw error("unescaped control character in string") }
            if c >= 0x80 { nonASCII = true }
            pos += 1
        }
        throw error("unterminated string")
    }

    private mutating func escapedString(from start: Int) throws(RiverCodecError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<pos]))
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                guard let s = String(validating: scratch, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return s
            }
            if c < 0x20 { throw error("unescaped control character in string") }
            if c != UInt8(ascii: "\\") {
                scratch.append(c)
                pos += 1
                continue
            }
            pos += 1
            guard pos < bytes.count else { break }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5C)
            case UInt8(ascii: "/"): scratch.append(0x2F)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate: pair it with a following low surrogate if there is one.
                    if pos + 6 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                        let save = pos
                        pos += 2
                        let low = try hex4()
                        if low >= 0xDC00 && low < 0xE000 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            pos = save
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                appendUTF8(scalar)
            default:
                pos -= 1
                throw error("invalid escape '\\\(Unicode.Scalar(e).escaped(asASCII: true))'")
            }
        }
        throw error("unterminated string")
    }

    private mutating func appendUTF8(_ v: UInt32) {
        switch v {
        case 0..<0x80:
            scratch.append(UInt8(v))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | v >> 6))
            scratch.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | v >> 12))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | v >> 18))
            scratch.append(UInt8(0x80 | v >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        }
    }

    // MARK: Numbers

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    private mutating func number() throws(RiverCodecError) -> RiverValue {
        let start = pos
        var negative = false
        if bytes[pos] == UInt8(ascii: "-") {
            negative = true
            pos += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0  // significant digits accumulated into mantissa
        var overflow = false
        var dropped = 0  // integer digits that did not fit into mantissa
        guard pos < bytes.count, bytes[pos] >= UInt8(ascii: "0"), bytes[pos] <= UInt8(ascii: "9") else {
            throw error("invalid number")
        }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else {
            while pos < bytes.count, bytes[pos] >= UInt8(ascii: "0"), bytes[pos] <= UInt8(ascii: "9") {
                let d = UInt64(bytes[pos] - UInt8(ascii: "0"))
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ d
                    digits += 1
                } else {
                    overflow = true
                    dropped += 1
                }
                pos += 1
            }
        }
        var isInteger = true
        var fractionDigits = 0
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            let fracStart = pos
            while pos < bytes.count, bytes[pos] >= UInt8(ascii: "0"), bytes[pos] <= UInt8(ascii: "9") {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[pos] - UInt8(ascii: "0"))
                    if mantissa != 0 { digits += 1 }
                    fractionDigits += 1
                } else {
                    overflow = true
                }
                pos += 1
            }
            guard pos > fracStart else { throw error("invalid number: digits expected after '.'") }
        }
        var exponent = 0
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            var expNegative = false
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") {
                expNegative = bytes[pos] == UInt8(ascii: "-")
                pos += 1
            }
            let expStart = pos
            while pos < bytes.count, bytes[pos] >= UInt8(ascii: "0"), bytes[pos] <= UInt8(ascii: "9") {
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[pos] - UInt8(ascii: "0")) }
                pos += 1
            }
            guard pos > expStart else { throw error("invalid number: digits expected in exponent") }
            if expNegative { exponent = -exponent }
        }
        if isInteger && !overflow {
            if negative {
                if mantissa <= UInt64(Int64.max) { return .int(-Int64(mantissa)) }
                if mantissa == UInt64(Int64.max) + 1 { return .int(Int64.min) }
            } else if mantissa <= UInt64(Int64.max) {
                return .int(Int64(mantissa))
            }
        }
        // Clinger's fast path: exact when the mantissa and the power of ten are both exact doubles.
        let exp10 = exponent - fractionDigits
        if !overflow, mantissa < (1 << 53), exp10 >= -22, exp10 <= 22 {
            var d = Double(mantissa)
            d = exp10 >= 0 ? d * Self.powersOfTen[exp10] : d / Self.powersOfTen[-exp10]
            return .double(negative ? -d : d)
        }
        _ = dropped
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text) else { throw error("invalid number") }
        return .double(d)
    }
}

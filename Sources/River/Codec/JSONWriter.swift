
/// A JSON serializer over `[UInt8]` that writes River's conventions: bytes as
/// `{"$t":"<base64>"}`, big integers as `{"$b":"<decimal>"}`, dates as ISO 8601 text
/// (like `JSON.stringify` of a JavaScript `Date`), object keys sorted.
struct JSONWriter {
    /// Containers nested deeper than this are refused (the reader's limit, so that whatever
    /// this writes can be read back).
    static let maxDepth = 512

    /// The JSON text written so far.
    var out: [UInt8] = []

    init(capacity: Int = 256) { out.reserveCapacity(capacity) }

    /// 0: copy the byte as is; 1: short escape (`\n`…); 2: `\u00XX`.
    private static let escapeKind: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256)
        for i in 0..<0x20 { table[i] = 2 }
        for c in [0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x22, 0x5C] { table[c] = 1 }
        return table
    }()

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    @inline(__always)
    mutating func byte(_ c: UInt8) { out.append(c) }

    @inline(__always)
    mutating func ascii(_ s: StaticString) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// Writes `s` as a JSON string with `JSON.stringify`'s escaping.
    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            Self.escapeKind.withUnsafeBufferPointer { kinds in
                out.append(UInt8(ascii: "\""))
                var runStart = 0
                var i = 0
                let n = utf8.count
                while i < n {
                    let c = utf8[i]
                    let kind = kinds[Int(c)]
                    if kind == 0 {
                        i += 1
                        continue
                    }
                    if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                    out.append(UInt8(ascii: "\\"))
                    switch c {
                    case 0x22: out.append(0x22)
                    case 0x5C: out.append(0x5C)
                    case 0x08: out.append(UInt8(ascii: "b"))
                    case 0x09: out.append(UInt8(ascii: "t"))
                    case 0x0A: out.append(UInt8(ascii: "n"))
                    case 0x0C: out.append(UInt8(ascii: "f"))
                    case 0x0D: out.append(UInt8(ascii: "r"))
                    default:
                        out.append(UInt8(ascii: "u"))
                        out.append(UInt8(ascii: "0"))
                        out.append(UInt8(ascii: "0"))
                        out.append(Self.hex[Int(c >> 4)])
                        out.append(Self.hex[Int(c & 15)])
                    }
                    i += 1
                    runStart = i
                }
                if runStart < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<n])) }
                out.append(UInt8(ascii: "\""))
            }
        }
    }

    /// Writes an integer in decimal.
    mutating func integer(_ value: Int64) {
        if value >= 0 && value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var i = 20
            while magnitude > 0 {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            if value < 0 { out.append(UInt8(ascii: "-")) }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[i..<20]))
        }
    }

    /// Writes a finite double in the shortest form that reads back to the same value. An
    /// integral double keeps a `.0` (for example `2.0`) so that it decodes as a double again.
    /// - Throws: ``RiverCodecError`` for NaN and infinities, which JSON cannot represent.
    mutating func double(_ value: Double) throws(RiverCodecError) {
        guard value.isFinite else { throw RiverCodecError("json: cannot encode \(value) (JSON has no NaN or Infinity)") }
        var text = value.description
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// Writes any value.
    /// - Throws: ``RiverCodecError`` for non-finite doubles, malformed big integers and
    ///   nesting deeper than ``maxDepth``.
    mutating func value(_ value: RiverValue, depth: Int = 0) throws(RiverCodecError) {
        switch value {
        case .null: ascii("null")
        case .bool(let b): if b { ascii("true") } else { ascii("false") }
        case .int(let i): integer(i)
        case .double(let d): try double(d)
        case .string(let s): string(s)
        case .bigInt(let decimal):
            guard BigIntText.isDecimal(decimal) else {
                throw RiverCodecError("json: big integer \"\(decimal)\" is not a decimal integer")
            }
            ascii("{\"$b\":")
            string(decimal)
            out.append(UInt8(ascii: "}"))
        case .bytes(let bytes):
            ascii("{\"$t\":\"")
            Base64.encode(bytes, into: &out)
            ascii("\"}")
        case .date(let date):
            string(ISO8601.format(date))
        case .array(let elements):
            guard depth < Self.maxDepth else { throw RiverCodecError("json: nesting deeper than \(Self.maxDepth)") }
            out.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                try self.value(element, depth: depth + 1)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            guard depth < Self.maxDepth else { throw RiverCodecError("json: nesting deeper than \(Self.maxDepth)") }
            out.append(UInt8(ascii: "{"))
            if fields.count == 1, let (key, element) = fields.first {
                string(key)
                out.append(UInt8(ascii: ":"))
                try self.value(element, depth: depth + 1)
            } else if fields.count == 2 {
                // The common result envelope (`ok`, `payload`): ordered without sorting an array.
                var pairs = fields.makeIterator()
                guard var first = pairs.next(), var second = pairs.next() else { return }
                if second.key < first.key { swap(&first, &second) }
                string(first.key)
                out.append(UInt8(ascii: ":"))
                try self.value(first.value, depth: depth + 1)
                out.append(UInt8(ascii: ","))
                string(second.key)
                out.append(UInt8(ascii: ":"))
                try self.value(second.value, depth: depth + 1)
            } else {
                var first = true
                // Sorted as pairs: no second hash lookup per key.
                for (key, element) in fields.sorted(by: { $0.key < $1.key }) {
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    string(key)
                    out.append(UInt8(ascii: ":"))
                    try self.value(element, depth: depth + 1)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

/// Checks on the decimal text of ``RiverValue/bigInt(_:)``.
enum BigIntText {
    /// Whether `text` is `-?[0-9]+` (what JavaScript's `BigInt.prototype.toString` writes).
    static func isDecimal(_ text: String) -> Bool {
        var utf8 = text.utf8[...]
        if utf8.first == UInt8(ascii: "-") { utf8 = utf8.dropFirst() }
        guard !utf8.isEmpty else { return false }
        return utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

/// Standard padded base64 (RFC 4648 §4), as Node's `Buffer.toString('base64')` writes it.
enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 255 marks a byte outside the alphabet.
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 255, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Appends the base64 text of `bytes` to `out`.
    static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        let count = bytes.count
        guard count > 0 else { return }
        out.reserveCapacity(out.count + (count + 2) / 3 * 4)
        alphabet.withUnsafeBufferPointer { a in
            bytes.withUnsafeBufferPointer { b in
                var i = 0
                while i + 3 <= count {
                    let v = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
                    out.append(a[Int(v >> 18 & 63)])
                    out.append(a[Int(v >> 12 & 63)])
                    out.append(a[Int(v >> 6 & 63)])
                    out.append(a[Int(v & 63)])
                    i += 3
                }
                let rest = count - i
                if rest == 1 {
                    let v = UInt32(b[i]) << 16
                    out.append(a[Int(v >> 18 & 63)])
                    out.append(a[Int(v >> 12 & 63)])
                    out.append(UInt8(ascii: "="))
                    out.append(UInt8(ascii: "="))
                } else if rest == 2 {
                    let v = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8
                    out.append(a[Int(v >> 18 & 63)])
                    out.append(a[Int(v >> 12 & 63)])
                    out.append(a[Int(v >> 6 & 63)])
                    out.append(UInt8(ascii: "="))
                }
            }
        }
    }

    /// The base64 text of `bytes` as a string.
    static func encodeString(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        encode(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64 text. Padding is optional (Node accepts unpadded input too), but the
    /// text must otherwise be well formed: only alphabet characters, `=` only at the end,
    /// and never a length of 4k+1.
    /// - Returns: The bytes, or `nil` when the text is not base64.
    static func decode<S: Collection<UInt8>>(_ text: S) -> [UInt8]? {
        var n = text.count
        var padding = 0
        // Strip up to two trailing '='.
        var end = text.endIndex
        while padding < 2, n > 0 {
            let before = text.index(end, offsetBy: -1)
            guard text[before] == UInt8(ascii: "=") else { break }
            end = before
            n -= 1
            padding += 1
        }
        if padding > 0 && (n + padding) % 4 != 0 { return nil }
        if n % 4 == 1 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(LargeByteArray.capacity(for: n * 3 / 4))
        return reverse.withUnsafeBufferPointer { r -> [UInt8]? in
            var acc: UInt32 = 0
            var bits = 0
            var index = text.startIndex
            while index != end {
                let v = r[Int(text[index])]
                if v == 255 { return nil }
                acc = acc << 6 | UInt32(v)
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
                }
                index = text.index(after: index)
            }
            return out
        }
    }
}

/// A structural pre-check of a msgpack frame, run before msgpack-c sees it.
///
/// msgpack-c allocates an array's or map's element storage as soon as it reads the header,
/// so a 5-byte header claiming four billion elements would make it allocate tens of
/// gigabytes. This walk (no allocation, no recursion) checks that every container count and
/// every str/bin/ext length fits in the bytes that are left, that nothing is truncated,
/// that no bytes trail the value and that nesting stays within msgpack-c's fixed parser
/// stack (``maxDepth``).
enum MessagePackScanner {
    /// msgpack-c's C unpacker has a fixed stack of `MSGPACK_EMBED_STACK_SIZE` (32) containers.
    static let maxDepth = 32

    /// Validates `bytes` as exactly one msgpack value.
    /// - Throws: ``RiverCodecError`` naming the problem and the byte offset.
    static func validate(_ bytes: UnsafeRawBufferPointer) throws(RiverCodecError) {
        let n = bytes.count
        guard n > 0 else { throw RiverCodecError("msgpack: empty frame") }
        var pos = 0
        // pending[d] = how many values are still expected at depth d.
        var pending = (
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        )
        try withUnsafeMutableBytes(of: &pending) { raw throws(RiverCodecError) in
            let stack = raw.bindMemory(to: Int.self)
            var depth = 0
            stack[0] = 1
            while true {
                while stack[depth] == 0 {
                    if depth == 0 {
                        guard pos == n else {
                            throw RiverCodecError("msgpack: \(n - pos) trailing bytes after the message at offset \(pos)")
                        }
                        return
                    }
                    depth -= 1
                }
                stack[depth] -= 1
                guard pos < n else { throw RiverCodecError("msgpack: truncated frame (expected a value at offset \(pos))") }
                let header = bytes[pos]
                let start = pos
                pos += 1

                func need(_ count: Int) throws(RiverCodecError) {
                    guard count <= n - pos else {
                        throw RiverCodecError("msgpack: truncated frame (value at offset \(start) needs \(count) more bytes, \(n - pos) left)")
                    }
                }
                func readLength(_ width: Int) throws(RiverCodecError) -> Int {
                    try need(width)
                    var v = 0
                    for i in 0..<width { v = v << 8 | Int(bytes[pos + i]) }
                    pos += width
                    return v
                }
                func skip(_ count: Int) throws(RiverCodecError) {
                    try need(count)
                    pos += count
                }
                var containerItems = -1
                switch header {
                case 0x00...0x7F, 0xE0...0xFF, 0xC0, 0xC2, 0xC3:
                    break
                case 0x80...0x8F: containerItems = Int(header & 0x0F) * 2
                case 0x90...0x9F: containerItems = Int(header & 0x0F)
                case 0xA0...0xBF: try skip(Int(header & 0x1F))
                case 0xC1: throw RiverCodecError("msgpack: invalid byte 0xc1 at offset \(start)")
                case 0xC4, 0xD9: try skip(readLength(1))
                case 0xC5, 0xDA: try skip(readLength(2))
                case 0xC6, 0xDB: try skip(readLength(4))
                case 0xC7: let len = try readLength(1); try skip(1 + len)
                case 0xC8: let len = try readLength(2); try skip(1 + len)
                case 0xC9: let len = try readLength(4); try skip(1 + len)
                case 0xCA: try skip(4)
                case 0xCB: try skip(8)
                case 0xCC, 0xD0: try skip(1)
                case 0xCD, 0xD1: try skip(2)
                case 0xCE, 0xD2: try skip(4)
                case 0xCF, 0xD3: try skip(8)
                case 0xD4: try skip(2)
                case 0xD5: try skip(3)
                case 0xD6: try skip(5)
                case 0xD7: try skip(9)
                case 0xD8: try skip(17)
                case 0xDC: containerItems = try readLength(2)
                case 0xDD: containerItems = try readLength(4)
                case 0xDE: containerItems = try readLength(2) * 2
                case 0xDF: containerItems = try readLength(4) * 2
                default: break
                }
                if containerItems > 0 {
                    // Every element takes at least one byte.
                    guard containerItems <= n - pos else {
                        throw RiverCodecError(
                            "msgpack: container at offset \(start) claims \(containerItems) elements but only \(n - pos) bytes are left")
                    }
                    guard depth + 1 < maxDepth else {
                        throw RiverCodecError("msgpack: nesting deeper than \(maxDepth) at offset \(start)")
                    }
                    depth += 1
                    stack[depth] = containerItems
                }
            }
        }
    }
}

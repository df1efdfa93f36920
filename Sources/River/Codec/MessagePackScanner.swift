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
        // pending[d] = how many values are still expected at depth d (no captures, so no
        // dynamic exclusivity checks in the loop).
        var pending = (
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        )
        let depthLimit = maxDepth
        try withUnsafeMutableBytes(of: &pending) { raw throws(RiverCodecError) in
            let stack = raw.bindMemory(to: Int.self)
            var pos = 0
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
                // Bytes of a length field, then bytes of payload to skip; or a container size.
                var lengthWidth = 0
                var skip = 0
                var extra = 0
                var containerItems = -1
                var mapHeader = false
                switch header {
                case 0x00...0x7F, 0xE0...0xFF, 0xC0, 0xC2, 0xC3: break
                case 0x80...0x8F: containerItems = Int(header & 0x0F) * 2
                case 0x90...0x9F: containerItems = Int(header & 0x0F)
                case 0xA0...0xBF: skip = Int(header & 0x1F)
                case 0xC1: throw RiverCodecError("msgpack: invalid byte 0xc1 at offset \(start)")
                case 0xC4, 0xD9: lengthWidth = 1
                case 0xC5, 0xDA: lengthWidth = 2
                case 0xC6, 0xDB: lengthWidth = 4
                case 0xC7: lengthWidth = 1; extra = 1
                case 0xC8: lengthWidth = 2; extra = 1
                case 0xC9: lengthWidth = 4; extra = 1
                case 0xCA: skip = 4
                case 0xCB: skip = 8
                case 0xCC, 0xD0: skip = 1
                case 0xCD, 0xD1: skip = 2
                case 0xCE, 0xD2: skip = 4
                case 0xCF, 0xD3: skip = 8
                case 0xD4: skip = 2
                case 0xD5: skip = 3
                case 0xD6: skip = 5
                case 0xD7: skip = 9
                case 0xD8: skip = 17
                case 0xDC: lengthWidth = 2; containerItems = 0
                case 0xDD: lengthWidth = 4; containerItems = 0
                case 0xDE: lengthWidth = 2; containerItems = 0; mapHeader = true
                case 0xDF: lengthWidth = 4; containerItems = 0; mapHeader = true
                default: break
                }
                if lengthWidth > 0 {
                    guard lengthWidth <= n - pos else {
                        throw RiverCodecError("msgpack: truncated frame (header at offset \(start) is cut short)")
                    }
                    var v = 0
                    for i in 0..<lengthWidth { v = v << 8 | Int(bytes[pos + i]) }
                    pos += lengthWidth
                    if containerItems == 0 {
                        containerItems = mapHeader ? v * 2 : v
                    } else {
                        skip = v + extra
                    }
                }
                if skip > 0 {
                    guard skip <= n - pos else {
                        throw RiverCodecError(
                            "msgpack: truncated frame (value at offset \(start) needs \(skip) more bytes, \(n - pos) left)")
                    }
                    pos += skip
                }
                if containerItems > 0 {
                    // Every element takes at least one byte.
                    guard containerItems <= n - pos else {
                        throw RiverCodecError(
                            "msgpack: container at offset \(start) claims \(containerItems) elements but only \(n - pos) bytes are left")
                    }
                    guard depth + 1 <= depthLimit else {
                        throw RiverCodecError("msgpack: nesting deeper than \(depthLimit) at offset \(start)")
                    }
                    depth += 1
                    stack[depth] = containerItems
                }
            }
        }
    }
}

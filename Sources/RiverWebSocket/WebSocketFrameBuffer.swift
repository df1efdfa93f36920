#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Frames (RFC 6455 §5.2) built into one contiguous buffer, so a batch of messages leaves
/// in a single write instead of one `lws_write` (one `send`, and on the client side one read of
/// `/dev/urandom` for the mask) per frame.
///
/// A client masks every frame with a fresh 4-byte key (§5.3) taken from a pool the operating
/// system's entropy source fills 256 bytes at a time; a server sends unmasked frames.
/// Used on the libwebsockets service thread only.
package final class WebSocketFrameBuffer {
    /// The frame bytes written so far.
    package private(set) var storage: UnsafeMutableRawPointer
    /// How many bytes of `storage` hold frames.
    package private(set) var count = 0
    private var capacity: Int
    private let masked: Bool
    private var keys: MaskKeys
    /// The mask key of the frame written last, and how many payload bytes of a frame begun by
    /// ``beginMessageFrame(length:)`` were appended so far.
    private var frameKey: UInt32 = 0
    private var payloadOffset = 0

    /// The most a frame header takes: 2 bytes, an 8-byte extended length and a 4-byte mask key.
    package static let maximumHeaderSize = 14

    /// - Parameters:
    ///   - masked: Whether frames are masked (the client side).
    ///   - entropy: Fills a buffer with unpredictable bytes (the mask keys); tests pass their own.
    package init(masked: Bool, entropy: @escaping (UnsafeMutableRawBufferPointer) -> Void = MaskKeys.systemEntropy) {
        self.masked = masked
        self.keys = MaskKeys(entropy: entropy)
        // Small to start with: most connections only ever batch a few small messages (an idle
        // one, a heartbeat of well under 100 bytes), and every connection keeps its buffer. A
        // connection that sends large ones keeps what it grew to (at most one callback's batch,
        // about 512 KiB), as the fixed 256 KiB scratch buffer before it did.
        capacity = 512
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// The frames built so far.
    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    /// Forgets the frames (keeps the memory).
    package func removeAll() { count = 0 }

    /// Appends one binary data frame carrying `payload`.
    /// - Parameters:
    ///   - first: The frame starts a message (opcode binary) rather than continuing one.
    ///   - final: The frame ends its message (FIN).
    package func appendFrame(_ payload: UnsafeRawBufferPointer, first: Bool, final: Bool) {
        append(firstByte: (final ? 0x80 : 0) | (first ? 0x2 : 0x0), payload)
    }

    /// Appends one control frame (RFC 6455 §5.5): a close, ping or pong.
    /// - Parameters:
    ///   - opcode: 0x8 (close), 0x9 (ping) or 0xA (pong).
    ///   - payload: At most 125 bytes (longer is cut to 125).
    package func appendControlFrame(opcode: UInt8, _ payload: UnsafeRawBufferPointer) {
        append(firstByte: 0x80 | (opcode & 0x0F), UnsafeRawBufferPointer(rebasing: payload.prefix(125)))
    }

    /// Appends a close frame carrying `code` (big-endian) and `reason` (see
    /// ``closeReasonBytes(_:)``).
    package func appendCloseFrame(code: UInt16, reason: String) {
        let payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + Self.closeReasonBytes(reason)
        payload.withUnsafeBytes { appendControlFrame(opcode: 0x8, $0) }
    }

    /// `reason` in UTF-8, cut to the 123 bytes a close frame has room for (RFC 6455 §5.5) at a
    /// character boundary, so the reason stays valid UTF-8.
    package static func closeReasonBytes(_ reason: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for scalar in reason.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            if bytes.count + encoded.count > 123 { break }
            bytes += encoded
        }
        return bytes
    }

    /// Appends the header of one binary frame carrying a whole message of `length` bytes, sent
    /// in a single frame; its payload follows in ``appendPayload(_:)`` calls, in one or more
    /// batches of this buffer. Nothing else may be appended until all `length` bytes were.
    ///
    /// A receiver learns the message's size from the header, so it reserves it once (a 1 MiB
    /// message sent as 256 KiB fragments was moved twice by a reader doubling its reserve).
    package func beginMessageFrame(length: Int) {
        reserve(Self.maximumHeaderSize)
        count = writeHeader(firstByte: 0x82, length: length) - storage
        payloadOffset = 0
    }

    /// Appends the next bytes of the payload of the frame ``beginMessageFrame(length:)`` began,
    /// masked (on the client side) with the frame's key from where the previous part ended.
    package func appendPayload(_ part: UnsafeRawBufferPointer) {
        guard let source = part.baseAddress, part.count > 0 else { return }
        reserve(part.count)
        let target = storage + count
        if masked {
            let shift = UInt32((payloadOffset & 3) * 8)
            let key = shift == 0 ? frameKey : frameKey >> shift | frameKey << (32 - shift)
            Self.copyMasked(from: source, to: target, count: part.count, key: key)
        } else {
            target.copyMemory(from: source, byteCount: part.count)
        }
        payloadOffset += part.count
        count += part.count
    }

    /// Writes a frame header announcing `length` payload bytes at the end of the frames (room
    /// reserved), with a fresh mask key (kept in `frameKey`) on the client side.
    /// - Returns: Where the payload goes.
    private func writeHeader(firstByte: UInt8, length: Int) -> UnsafeMutableRawPointer {
        var position = storage + count
        position.storeBytes(of: firstByte, as: UInt8.self)
        let maskBit: UInt8 = masked ? 0x80 : 0
        if length < 126 {
            (position + 1).storeBytes(of: maskBit | UInt8(length), as: UInt8.self)
            position += 2
        } else if length <= 0xFFFF {
            (position + 1).storeBytes(of: maskBit | 126, as: UInt8.self)
            (position + 2).storeBytes(of: UInt16(length).bigEndian, as: UInt16.self)
            position += 4
        } else {
            (position + 1).storeBytes(of: maskBit | 127, as: UInt8.self)
            (position + 2).storeBytes(of: UInt64(length).bigEndian, as: UInt64.self)
            position += 10
        }
        if masked {
            frameKey = keys.next()
            position.storeBytes(of: frameKey, as: UInt32.self)
            position += 4
        }
        return position
    }

    private func append(firstByte: UInt8, _ payload: UnsafeRawBufferPointer) {
        reserve(Self.maximumHeaderSize + payload.count)
        let position = writeHeader(firstByte: firstByte, length: payload.count)
        let length = payload.count
        // Masked as it is copied: one pass over the payload.
        if let source = payload.baseAddress, length > 0 {
            if masked {
                Self.copyMasked(from: source, to: position, count: length, key: frameKey)
            } else {
                position.copyMemory(from: source, byteCount: length)
            }
        }
        count = position - storage + length
    }

    /// XORs `count` bytes at `bytes` with the 4-byte `key` as it lies in memory (byte `i` with
    /// key byte `i % 4`), in place.
    package static func mask(_ bytes: UnsafeMutableRawPointer, count: Int, key: UInt32) {
        copyMasked(from: bytes, to: bytes, count: count, key: key)
    }

    /// Writes the `count` bytes at `source` XORed with the 4-byte `key` as it lies in memory
    /// (byte `i` with key byte `i % 4`) to `target`: the copy and the (un)masking in one pass.
    /// `target` is `source` itself (in place) or does not overlap it; neither needs alignment.
    ///
    /// 32 bytes per step as four 8-byte words (the compiler keeps them in registers; a plain
    /// loop of one checked word at a time ran at a third of `memcpy`'s speed, and a copy
    /// followed by a masking pass read and wrote everything twice), then words, then bytes.
    package static func copyMasked(from source: UnsafeRawPointer, to target: UnsafeMutableRawPointer, count: Int, key: UInt32) {
        guard count > 0 else { return }
        let wide = UInt64(key) | UInt64(key) << 32
        var offset = 0
        let blocksEnd = count & ~31
        while offset < blocksEnd {
            let word0 = source.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let word1 = source.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt64.self)
            let word2 = source.loadUnaligned(fromByteOffset: offset &+ 16, as: UInt64.self)
            let word3 = source.loadUnaligned(fromByteOffset: offset &+ 24, as: UInt64.self)
            target.storeBytes(of: word0 ^ wide, toByteOffset: offset, as: UInt64.self)
            target.storeBytes(of: word1 ^ wide, toByteOffset: offset &+ 8, as: UInt64.self)
            target.storeBytes(of: word2 ^ wide, toByteOffset: offset &+ 16, as: UInt64.self)
            target.storeBytes(of: word3 ^ wide, toByteOffset: offset &+ 24, as: UInt64.self)
            offset &+= 32
        }
        let wordsEnd = count & ~7
        while offset < wordsEnd {
            target.storeBytes(of: source.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ wide, toByteOffset: offset, as: UInt64.self)
            offset &+= 8
        }
        // Every offset so far is a multiple of 8, so the key lines up byte for byte; the word's
        // first byte in memory is its low byte once read as little-endian.
        var rest = wide.littleEndian
        while offset < count {
            target.storeBytes(of: source.load(fromByteOffset: offset, as: UInt8.self) ^ UInt8(truncatingIfNeeded: rest), toByteOffset: offset, as: UInt8.self)
            rest >>= 8
            offset &+= 1
        }
    }

    private func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        var grown = capacity * 2
        while grown < count + extra { grown *= 2 }
        let replacement = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
        replacement.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = replacement
        capacity = grown
    }
}

/// Mask keys from a pool of entropy, refilled 64 keys at a time.
package struct MaskKeys {
    private var pool = [UInt32](repeating: 0, count: 64)
    private var index = 64
    private let entropy: (UnsafeMutableRawBufferPointer) -> Void

    package init(entropy: @escaping (UnsafeMutableRawBufferPointer) -> Void) {
        self.entropy = entropy
    }

    /// The next key.
    package mutating func next() -> UInt32 {
        if index == pool.count {
            pool.withUnsafeMutableBytes { entropy($0) }
            index = 0
        }
        defer { index += 1 }
        return pool[index]
    }

    /// The operating system's entropy source (`getentropy`, at most 256 bytes per call);
    /// falls back to Swift's system generator if that fails.
    package static func systemEntropy(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let chunk = min(256, buffer.count - offset)
            if getentropy(base + offset, chunk) != 0 {
                var generator = SystemRandomNumberGenerator()
                for byte in offset..<offset + chunk { buffer[byte] = generator.next() }
            }
            offset += chunk
        }
    }
}

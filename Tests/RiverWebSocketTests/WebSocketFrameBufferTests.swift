import RiverWebSocket
import Testing

/// The frames `WebSocketConnection` builds itself (RFC 6455 §5.2), parsed back here by an
/// independent reader.
@Suite("WebSocket frame buffer")
struct WebSocketFrameBufferTests {
    /// One parsed frame.
    struct Frame: Equatable {
        var fin: Bool
        var opcode: UInt8
        var maskKey: [UInt8]?
        /// Unmasked.
        var payload: [UInt8]
    }

    /// Parses every frame in `bytes`; fails the test on a truncated or malformed buffer.
    static func parse(_ bytes: [UInt8]) -> [Frame] {
        var frames: [Frame] = []
        var index = 0
        while index < bytes.count {
            guard bytes.count - index >= 2 else {
                Issue.record("truncated header at \(index)")
                return frames
            }
            let fin = bytes[index] & 0x80 != 0
            #expect(bytes[index] & 0x70 == 0, "reserved bits set")
            let opcode = bytes[index] & 0x0F
            let masked = bytes[index + 1] & 0x80 != 0
            var length = Int(bytes[index + 1] & 0x7F)
            index += 2
            if length == 126 {
                length = Int(bytes[index]) << 8 | Int(bytes[index + 1])
                index += 2
            } else if length == 127 {
                length = bytes[index..<index + 8].reduce(0) { $0 << 8 | Int($1) }
                index += 8
            }
            var key: [UInt8]?
            if masked {
                key = Array(bytes[index..<index + 4])
                index += 4
            }
            guard bytes.count - index >= length else {
                Issue.record("truncated payload at \(index)")
                return frames
            }
            var payload = Array(bytes[index..<index + length])
            if let key {
                for offset in payload.indices { payload[offset] ^= key[offset % 4] }
            }
            index += length
            frames.append(Frame(fin: fin, opcode: opcode, maskKey: key, payload: payload))
        }
        return frames
    }

    /// Deterministic "entropy": counts up from `start` (each refill shifted by one more, so
    /// the 256-byte wrap-around does not repeat keys), and counts the refills.
    final class CountingEntropy {
        var next: UInt8
        var refills = 0
        init(start: UInt8) { next = start }
        func fill(_ buffer: UnsafeMutableRawBufferPointer) {
            for index in buffer.indices {
                buffer[index] = next &+ UInt8(truncatingIfNeeded: refills)
                next &+= 1
            }
            refills += 1
        }
    }

    @Test("server frames: minimal length encodings at every boundary, no mask", arguments: [0, 1, 125, 126, 65_535, 65_536, 300_000])
    func serverLengths(length: Int) {
        let buffer = WebSocketFrameBuffer(masked: false)
        let payload = pattern(count: length, seed: 7)
        payload.withUnsafeBytes { buffer.appendFrame($0, first: true, final: true) }
        let bytes = Array(buffer.bytes)
        let headerSize = length < 126 ? 2 : length <= 65_535 ? 4 : 10
        #expect(bytes.count == headerSize + length)
        #expect(bytes[0] == 0x82)
        #expect(bytes[1] == (length < 126 ? UInt8(length) : length <= 65_535 ? 126 : 127))
        #expect(Self.parse(bytes) == [Frame(fin: true, opcode: 2, maskKey: nil, payload: payload)])
    }

    @Test("client frames are masked: each with the next key of the pool, payload restored by unmasking", arguments: [0, 3, 8, 13, 126, 70_000])
    func clientMasking(length: Int) {
        let entropy = CountingEntropy(start: 1)
        let buffer = WebSocketFrameBuffer(masked: true, entropy: entropy.fill)
        let payload = pattern(count: length, seed: 11)
        payload.withUnsafeBytes { buffer.appendFrame($0, first: true, final: true) }
        payload.withUnsafeBytes { buffer.appendFrame($0, first: true, final: true) }
        let frames = Self.parse(Array(buffer.bytes))
        #expect(frames.count == 2)
        #expect(frames.map(\.payload) == [payload, payload])
        #expect(frames.map(\.maskKey) == [[1, 2, 3, 4], [5, 6, 7, 8]])
        if length >= 8 {
            // The masked bytes on the wire differ from the payload.
            let header = length < 126 ? 6 : length <= 65_535 ? 8 : 14
            #expect(Array(buffer.bytes[header..<header + 8]) != Array(payload[0..<8]))
        }
    }

    @Test("the key pool is refilled once per 64 frames")
    func keyPoolRefill() {
        let entropy = CountingEntropy(start: 0)
        let buffer = WebSocketFrameBuffer(masked: true, entropy: entropy.fill)
        for _ in 0..<64 { [UInt8]([1]).withUnsafeBytes { buffer.appendFrame($0, first: true, final: true) } }
        #expect(entropy.refills == 1)
        [UInt8]([1]).withUnsafeBytes { buffer.appendFrame($0, first: true, final: true) }
        #expect(entropy.refills == 2)
        let keys = Self.parse(Array(buffer.bytes)).compactMap(\.maskKey)
        #expect(Set(keys.map { $0.description }).count == 65)
    }

    @Test("system entropy gives different keys")
    func systemKeys() {
        var keys = MaskKeys(entropy: MaskKeys.systemEntropy)
        let drawn = (0..<200).map { _ in keys.next() }
        // 200 draws from 2^32 values: a repeat is vanishingly unlikely; all-equal means no entropy.
        #expect(Set(drawn).count >= 199)
    }

    @Test("fragments: binary then continuation opcodes, FIN only on the last; frames batch in one buffer")
    func fragmentsAndBatches() {
        let buffer = WebSocketFrameBuffer(masked: true, entropy: CountingEntropy(start: 9).fill)
        let whole = pattern(count: 1_000, seed: 3)
        whole.withUnsafeBytes { bytes in
            buffer.appendFrame(UnsafeRawBufferPointer(rebasing: bytes[0..<400]), first: true, final: false)
            buffer.appendFrame(UnsafeRawBufferPointer(rebasing: bytes[400..<900]), first: false, final: false)
            buffer.appendFrame(UnsafeRawBufferPointer(rebasing: bytes[900...]), first: false, final: true)
        }
        [UInt8]([42]).withUnsafeBytes { buffer.appendFrame($0, first: true, final: true) }
        let frames = Self.parse(Array(buffer.bytes))
        #expect(frames.map(\.opcode) == [2, 0, 0, 2])
        #expect(frames.map(\.fin) == [false, false, true, true])
        #expect(frames[0..<3].flatMap(\.payload) == whole)
        #expect(frames[3].payload == [42])
        buffer.removeAll()
        #expect(buffer.count == 0)
    }

    @Test("masking eight bytes at a time equals byte-wise masking at every length and alignment")
    func wideMasking() {
        let key: UInt32 = 0xA1B2_C3D4
        let keyBytes = withUnsafeBytes(of: key) { Array($0) }
        for length in 0...70 {
            for alignment in 0..<8 {
                var storage = pattern(count: length + alignment, seed: UInt8(length))
                let expected = storage[alignment...].enumerated().map { $0.element ^ keyBytes[$0.offset % 4] }
                storage.withUnsafeMutableBytes { bytes in
                    guard let base = bytes.baseAddress else { return }
                    WebSocketFrameBuffer.mask(base + alignment, count: length, key: key)
                }
                #expect(Array(storage[alignment...]) == expected, "length \(length), alignment \(alignment)")
            }
        }
    }

    @Test("the masked copy equals a byte-wise copy and mask at every length from 0 to 70, from and to every alignment")
    func maskedCopy() {
        let key: UInt32 = 0x0F1E_2D3C
        let keyBytes = withUnsafeBytes(of: key) { Array($0) }
        for length in 0...70 {
            for sourceAlignment in 0..<8 {
                for targetAlignment in 0..<8 {
                    let source = pattern(count: length + sourceAlignment, seed: UInt8(length &+ 7))
                    let expected = source[sourceAlignment...].enumerated().map { $0.element ^ keyBytes[$0.offset % 4] }
                    // One guard byte after the copy: nothing past `count` is written.
                    var target = [UInt8](repeating: 0xEE, count: length + targetAlignment + 1)
                    source.withUnsafeBytes { from in
                        target.withUnsafeMutableBytes { to in
                            guard let from = from.baseAddress, let to = to.baseAddress else { return }
                            WebSocketFrameBuffer.copyMasked(from: from + sourceAlignment, to: to + targetAlignment, count: length, key: key)
                        }
                    }
                    let label = "length \(length), alignments \(sourceAlignment) → \(targetAlignment)"
                    #expect(Array(target[targetAlignment..<(targetAlignment + length)]) == expected, "\(label)")
                    #expect(target[..<targetAlignment].allSatisfy { $0 == 0xEE } && target.last == 0xEE, "\(label)")
                }
            }
        }
    }

    @Test("a message framed as one frame in parts of uneven sizes, across batches, reads back whole, masked or not",
          arguments: [false, true])
    func messageFrameInParts(masked: Bool) {
        let entropy = CountingEntropy(start: 0x40)
        let buffer = WebSocketFrameBuffer(masked: masked, entropy: entropy.fill)
        let payload = pattern(count: 300_001, seed: 13)
        var wire: [UInt8] = []
        buffer.beginMessageFrame(length: payload.count)
        var offset = 0
        // Parts of 1, 6, 31, … bytes (every alignment of the key against a part's start); the
        // buffer is emptied after some parts, as a connection's writes empty it.
        var part = 1
        while offset < payload.count {
            let end = min(payload.count, offset + part)
            payload[offset..<end].withUnsafeBytes { buffer.appendPayload($0) }
            offset = end
            part = part * 5 + 1
            if part > 100_000 { part = 3 }
            if part % 2 == 0 {
                wire += Array(buffer.bytes)
                buffer.removeAll()
            }
        }
        // A frame after it starts cleanly.
        [UInt8]([42]).withUnsafeBytes { buffer.appendFrame($0, first: true, final: true) }
        wire += Array(buffer.bytes)
        let frames = Self.parse(wire)
        #expect(frames.map(\.payload) == [payload, [42]])
        #expect(frames.map(\.fin) == [true, true])
        #expect(frames.map(\.opcode) == [2, 2])
        #expect(frames.map { $0.maskKey != nil } == [masked, masked])
    }
}

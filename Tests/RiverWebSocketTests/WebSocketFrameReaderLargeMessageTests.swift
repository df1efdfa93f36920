import River
import RiverWebSocket
import Testing

/// A large message is assembled in an array reserved as a ``LargeByteArray`` (a fragmented one
/// moves there once its fragments pass the threshold): the rest never move it, and its memory
/// goes back to the system once freed.
@Suite("WebSocket frame reader: large messages")
struct WebSocketFrameReaderLargeMessageTests {
    /// The messages `frames` make, read in 100,000-byte pieces.
    static func messages(_ frames: [[UInt8]]) -> [[UInt8]] {
        var reader = WebSocketFrameReader(maximumMessageSize: 16 << 20)
        var messages: [[UInt8]] = []
        let bytes = frames.flatMap { $0 }
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 100_000)
            bytes[offset..<end].withUnsafeBytes { piece in
                do throws(WebSocketFrameReader.Violation) {
                    try reader.read(piece) { event in
                        if case .message(let message, _) = event { messages.append(message) }
                    }
                } catch {
                    Issue.record("the reader refused the frames: \(error.reason)")
                }
            }
            offset = end
        }
        return messages
    }

    static func payload(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }
    }

    @Test("a message sent in 256 KiB fragments moves into a large reserve once, not doubling to the end")
    func fragmentedLargeMessage() {
        let payload = Self.payload(3 << 20)
        let fragment = 256 * 1024
        let frames = stride(from: 0, to: payload.count, by: fragment).map { start in
            let end = min(payload.count, start + fragment)
            return ServerFrame.frame(opcode: start == 0 ? 0x2 : 0x0, fin: end == payload.count, payload: Array(payload[start..<end]))
        }
        let messages = Self.messages(frames)
        #expect(messages == [payload])
        // Doubling from 256 KiB would have ended at 4 MiB (on the heap), copying on the way.
        #expect((messages.first?.capacity ?? 0) >= LargeByteArray.mappedCapacity)
    }

    @Test("a large unfragmented message is reserved large; small messages, fragmented or not, exactly")
    func reservations() {
        let large = Self.payload(LargeByteArray.threshold)
        let small = Self.payload(1000)
        let messages = Self.messages([
            ServerFrame.frame(opcode: 0x2, payload: large),
            ServerFrame.frame(opcode: 0x2, fin: false, payload: Array(small[..<500])),
            ServerFrame.frame(opcode: 0x0, payload: Array(small[500...])),
        ])
        #expect(messages == [large, small])
        #expect((messages.first?.capacity ?? 0) >= LargeByteArray.mappedCapacity)
        #expect((messages.last?.capacity ?? .max) < 4096)
    }

    /// `payload` in River's own sender's 256 KiB fragments, masked with `maskKey` when given.
    static func fragments(_ payload: [UInt8], maskKey: [UInt8]? = nil) -> [[UInt8]] {
        let fragment = 256 * 1024
        return stride(from: 0, to: payload.count, by: fragment).map { start in
            let end = min(payload.count, start + fragment)
            return ServerFrame.frame(
                opcode: start == 0 ? 0x2 : 0x0, fin: end == payload.count, payload: Array(payload[start..<end]), maskKey: maskKey)
        }
    }

    @Test("a masked 1 MiB message in 256 KiB fragments, read in pieces of odd sizes, is unmasked as it is copied")
    func maskedFragmentedMegabyte() {
        let payload = Self.payload((1 << 20) + 100)
        let bytes = Self.fragments(payload, maskKey: [0x9A, 0x0B, 0xC7, 0x31]).flatMap { $0 }
        var reader = WebSocketFrameReader(maximumMessageSize: 16 << 20, peerMasks: true)
        var messages: [[UInt8]] = []
        var offset = 0
        var piece = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + piece)
            bytes[offset..<end].withUnsafeBytes { chunk in
                do throws(WebSocketFrameReader.Violation) {
                    try reader.read(chunk) { event in
                        if case .message(let message, _) = event { messages.append(message) }
                    }
                } catch {
                    Issue.record("the reader refused the frames: \(error.reason)")
                }
            }
            offset = end
            // 1, 4, 13, 40, … bytes: every alignment of the key against the chunk's start.
            piece = piece * 3 + 1
            if piece > 70_000 { piece = 7 }
        }
        #expect(messages == [payload])
    }
}

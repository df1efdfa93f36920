import River

/// Reads the frames the peer sends (RFC 6455 §5) from the bytes of a connection, as they arrive
/// in pieces of any size, and hands out whole messages and control frames.
///
/// Payload is copied in blocks straight into the message being assembled (reserved at the size
/// the frame header announces) and unmasked there, so receiving costs one copy per byte. A
/// message of ``LargeByteArray/threshold`` bytes or more is reserved as a ``LargeByteArray``
/// (a fragmented one when its fragments pass that size, moved once): the rest of its fragments
/// are appended without moving it, and its memory goes back to the system once it is decoded
/// and freed.
/// Everything the RFC says an endpoint must fail the connection for is refused with a
/// ``Violation``: a frame masked the wrong way (a server's frames are never masked, a client's
/// always), reserved bits (no extension is ever negotiated), an unknown opcode, a fragmented or
/// oversized control frame, a continuation outside a message or a new message inside one, an
/// invalid close code, a text message or close reason that is not UTF-8 (RFC 6455 §8.1), and a
/// message longer than the maximum (refused as soon as a header announces it). Used on the
/// libwebsockets service thread only.
package struct WebSocketFrameReader {
    /// One thing the server said.
    package enum Event: Equatable {
        /// A whole data message (text or binary, all its fragments joined).
        case message([UInt8], isText: Bool)
        /// A ping; the client answers with a pong carrying `payload`.
        case ping([UInt8])
        /// A pong (unsolicited, or the answer to a ping this side never sends).
        case pong
        /// A close frame: its code (`nil` when it carried none) and reason. Nothing after it
        /// is read.
        case close(code: UInt16?, reason: String)
    }

    /// Why the server's bytes cannot be read on: the client closes with ``code``.
    package struct Violation: Error, Equatable {
        /// 1002 (protocol error), 1007 (a text message or close reason that is not UTF-8) or
        /// 1009 (message too big).
        package var code: UInt16
        /// What the server did, for the close reason and the log.
        package var reason: String
        /// Whether the message was too big (rather than malformed).
        package var isTooLarge: Bool { code == 1009 }
    }

    private enum Stage {
        /// Reading a frame header; `header` holds the bytes read so far.
        case header
        /// Reading `remaining` payload bytes of the current frame.
        case payload(remaining: Int)
        /// A close frame or a violation ended the input.
        case done
    }

    private let maximumMessageSize: Int
    /// Whether the peer masks its frames (it is a client).
    private let peerMasks: Bool
    private var stage = Stage.header
    private var header: [UInt8] = []
    /// The current frame's opcode and FIN bit.
    private var opcode: UInt8 = 0
    private var final = false
    /// The data message being assembled; `nil` between messages.
    private var message: [UInt8]?
    private var messageIsText = false
    /// The current control frame's payload.
    private var control: [UInt8] = []
    /// The current frame's masking key as it lies in memory, and how many of its payload bytes
    /// were unmasked so far (which key byte comes next).
    private var maskKey: UInt32 = 0
    private var maskOffset = 0

    /// - Parameters:
    ///   - maximumMessageSize: The largest data message accepted, in bytes.
    ///   - peerMasks: Whether the frames come from a client (masked) rather than a server.
    package init(maximumMessageSize: Int, peerMasks: Bool = false) {
        self.maximumMessageSize = maximumMessageSize
        self.peerMasks = peerMasks
    }

    /// Whether input ended (a close frame or a violation): nothing more is read.
    package var isDone: Bool {
        if case .done = stage { true } else { false }
    }

    /// Reads `bytes`, calling `deliver` for each event completed in them, in order.
    /// - Throws: ``Violation`` when the server broke the protocol or announced a message over
    ///   the limit; the reader reads nothing more afterwards.
    package mutating func read(_ bytes: UnsafeRawBufferPointer, deliver: (consuming Event) -> Void) throws(Violation) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var position = 0
        let count = bytes.count
        while position < count {
            switch stage {
            case .done:
                return
            case .header:
                header.append(base[position])
                position += 1
                guard let length = try headerLength() else { continue }
                try begin(length: length)
                header.removeAll(keepingCapacity: true)
                if length == 0 { try complete(deliver) }
            case .payload(let remaining):
                let take = min(remaining, count - position)
                let chunk = UnsafeRawBufferPointer(start: base + position, count: take)
                // The key rotated so that its first byte applies to the first byte copied now.
                let key: UInt32? = peerMasks ? Self.rotated(maskKey, by: maskOffset) : nil
                if opcode & 0x8 != 0 {
                    Self.append(chunk, to: &control, unmaskingWith: key)
                } else if var assembled = message.take() {
                    // Taken out and put back: appended in place, never copied.
                    Self.append(chunk, to: &assembled, unmaskingWith: key)
                    message = consume assembled
                }
                maskOffset &+= take
                position += take
                if take == remaining {
                    try complete(deliver)
                } else {
                    stage = .payload(remaining: remaining - take)
                }
            }
        }
    }

    /// The payload length once `header` holds a whole header (with the masking key, when the
    /// peer masks), else `nil`.
    private mutating func headerLength() throws(Violation) -> Int? {
        guard header.count >= 2 else { return nil }
        let masked = header[1] & 0x80 != 0
        if masked != peerMasks {
            throw fail(1002, peerMasks ? "the client sent an unmasked frame" : "the server sent a masked frame")
        }
        let keyBytes = peerMasks ? 4 : 0
        let short = Int(header[1] & 0x7F)
        let length: Int
        let lengthEnd: Int
        switch short {
        case 126:
            guard header.count >= 4 else { return nil }
            length = Int(header[2]) << 8 | Int(header[3])
            lengthEnd = 4
        case 127:
            guard header.count >= 10 else { return nil }
            if header[2] & 0x80 != 0 { throw fail(1002, "a frame length has its most significant bit set") }
            length = header[2...9].reduce(0) { $0 << 8 | Int($1) }
            lengthEnd = 10
        default:
            length = short
            lengthEnd = 2
        }
        guard header.count == lengthEnd + keyBytes else { return nil }
        if peerMasks {
            maskKey = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: lengthEnd, as: UInt32.self) }
            maskOffset = 0
        }
        return length
    }

    /// `key` (as it lies in memory) rotated so that key byte `offset % 4` comes first.
    private static func rotated(_ key: UInt32, by offset: Int) -> UInt32 {
        let shift = UInt32((offset & 3) * 8)
        return shift == 0 ? key : key >> shift | key << (32 - shift)
    }

    /// Appends `chunk` to `bytes`, unmasked with `key` (when the peer masks) as it is copied:
    /// one pass over the payload rather than a copy and then an unmasking pass.
    private static func append(_ chunk: UnsafeRawBufferPointer, to bytes: inout [UInt8], unmaskingWith key: UInt32?) {
        guard let key, let source = chunk.baseAddress, chunk.count > 0 else {
            bytes.append(contentsOf: chunk)
            return
        }
        let count = chunk.count
        if #available(macOS 26, iOS 26, tvOS 26, watchOS 26, visionOS 26, *) {
            bytes.append(addingCapacity: count) { (span: inout OutputSpan<UInt8>) in
                span.withUnsafeMutableBufferPointer { buffer, initialized in
                    guard let target = buffer.baseAddress, buffer.count >= count else { return }
                    WebSocketFrameBuffer.copyMasked(from: source, to: UnsafeMutableRawPointer(target), count: count, key: key)
                    initialized = count
                }
            }
        } else {
            bytes.append(contentsOf: chunk)
            bytes.withUnsafeMutableBytes { buffer in
                guard let base = buffer.baseAddress else { return }
                WebSocketFrameBuffer.mask(base + (buffer.count - count), count: count, key: key)
            }
        }
    }

    /// Checks a complete header announcing `length` payload bytes and prepares for them.
    private mutating func begin(length: Int) throws(Violation) {
        let first = header[0]
        if first & 0x70 != 0 { throw fail(1002, "a frame has reserved bits set (no extension was negotiated)") }
        opcode = first & 0x0F
        final = first & 0x80 != 0
        switch opcode {
        case 0x8, 0x9, 0xA:
            if !final { throw fail(1002, "a control frame is fragmented") }
            if length > 125 { throw fail(1002, "a control frame carries \(length) bytes (at most 125)") }
            control.removeAll(keepingCapacity: true)
        case 0x1, 0x2:
            if message != nil { throw fail(1002, "a new message started before the previous one ended") }
            try checkLimit(adding: length, to: 0)
            message = []
            message?.reserveCapacity(LargeByteArray.capacity(for: length))
            if final, length >= LargeByteArray.threshold, let base = message?.withUnsafeMutableBytes({ $0.baseAddress }) {
                // Its length is known: its whole huge pages are advised (a fragmented message's
                // are not, the last one could end up mostly unused but resident).
                LargeByteArray.adviseHugePages(base, count: length)
            }
            messageIsText = opcode == 0x1
        case 0x0:
            guard let received = message?.count else { throw fail(1002, "a continuation frame arrived outside a message") }
            try checkLimit(adding: length, to: received)
            if let capacity = message?.capacity, capacity < received + length {
                // Fragments of one message: grow at least by doubling, so a message sent in many
                // frames is copied about once more in all rather than once per frame; a large
                // one moves once into an array reserved for far more (address space only).
                let needed = received + length
                message?.reserveCapacity(
                    needed >= LargeByteArray.threshold
                        ? LargeByteArray.capacity(for: needed) : max(needed, min(maximumMessageSize, 2 * capacity)))
            }
        default:
            throw fail(1002, "a frame has the unknown opcode \(opcode)")
        }
        stage = .payload(remaining: length)
    }

    private mutating func checkLimit(adding length: Int, to received: Int) throws(Violation) {
        let (total, overflow) = received.addingReportingOverflow(length)
        if overflow || total > maximumMessageSize {
            throw fail(1009, "message larger than \(maximumMessageSize) bytes")
        }
    }

    /// The current frame's payload is all read.
    private mutating func complete(_ deliver: (consuming Event) -> Void) throws(Violation) {
        stage = .header
        switch opcode {
        case 0x8:
            stage = .done
            deliver(try closeEvent())
        case 0x9:
            deliver(.ping(control))
        case 0xA:
            deliver(.pong)
        default:
            guard final, let whole = message.take() else { return }
            // Checked whole: a character may straddle fragments.
            if messageIsText, String(validating: whole, as: UTF8.self) == nil {
                throw fail(1007, "a text message is not valid UTF-8")
            }
            // Handed over: the reader keeps no reference to a delivered message.
            deliver(.message(consume whole, isText: messageIsText))
        }
    }

    /// The close frame's code and reason (RFC 6455 §5.5.1, §7.4).
    private mutating func closeEvent() throws(Violation) -> Event {
        if control.isEmpty { return .close(code: nil, reason: "") }
        guard control.count >= 2 else { throw fail(1002, "a close frame carries a 1-byte payload") }
        let code = UInt16(control[0]) << 8 | UInt16(control[1])
        let valid = (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code)
        guard valid else { throw fail(1002, "a close frame carries the invalid code \(code)") }
        guard let reason = String(validating: control[2...], as: UTF8.self) else {
            throw fail(1007, "a close frame's reason is not valid UTF-8")
        }
        return .close(code: code, reason: reason)
    }

    private mutating func fail(_ code: UInt16, _ reason: String) -> Violation {
        stage = .done
        message = nil
        header = []
        control = []
        return Violation(code: code, reason: reason)
    }
}

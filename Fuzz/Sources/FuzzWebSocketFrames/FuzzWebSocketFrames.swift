import FuzzSupport

// `WebSocketFrameReader`, `WebSocketClientHandshake` and `WebSocketServerHandshake` are
// `package` types of RiverWebSocket, which another package (this one) cannot see: their source
// files (and `WebSocketFrameBuffer`'s, for the unmasking) are symlinked into this target and
// compiled here, unchanged and instrumented like the rest.

/// libFuzzer entry: what one side of a WebSocket reads from the other, the opening handshake and
/// then the frames, read by `WebSocketClientHandshake` / `WebSocketServerHandshake` and
/// `WebSocketFrameReader` in pieces.
///
/// Input format: byte 0 picks the maximum message size (bits 7–6: 1 MiB, 0, 100 or 4096
/// bytes), the side (bit 4: 0 a client reading a server's answer and unmasked frames, 1 a server
/// reading a client's request and masked frames) and the size of the small reads (bits 3–0, plus
/// one); byte 1 is where the rest is split in two reads (as a fraction of its length, /256). The
/// rest is what the peer sends: it goes through the handshake (a client's uses RFC 6455's example
/// key) and, when accepted, what follows the head goes to a frame reader; the whole rest also
/// goes to a frame reader on its own.
///
/// Beyond not trapping, the checks: a verdict never depends on how the bytes were split into
/// reads (one read, two reads, small reads give the same events, violation and handshake
/// outcome); no message exceeds the maximum; a text message is valid UTF-8; a control payload is
/// at most 125 bytes; a violation is 1002, 1007 or 1009 and ends the input, as a close frame
/// does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocketFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzInput(data, size)
    guard input.count >= 2 else { return 0 }
    let maximumMessageSize = [1 << 20, 0, 100, 4096][Int(input[0] >> 6)]
    let peerMasks = input[0] & 0x10 != 0
    let smallRead = Int(input[0] & 0x0F) + 1
    let stream = Array(input[2...])
    let split = stream.count * Int(input[1]) / 256

    let head = handshakeOutcome(stream, splitAt: split, server: peerMasks)
    check(handshakeOutcome(stream, splitAt: 0, server: peerMasks) == head, "the handshake outcome depends on the split")
    if head.outcome == .accepted {
        let frames = Array(stream[head.end...])
        readEverySplit(frames, maximumMessageSize: maximumMessageSize, peerMasks: peerMasks, splitAt: split, smallRead: smallRead)
    }
    readEverySplit(stream, maximumMessageSize: maximumMessageSize, peerMasks: peerMasks, splitAt: split, smallRead: smallRead)
    return 0
}

/// Traps (so libFuzzer reports the input) when an invariant is broken.
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// How the handshake ended on `stream` fed in two reads (split at `split`; 0: one read).
private struct HandshakeResult: Equatable {
    enum Outcome: Equatable {
        case incomplete, accepted
        /// Refused, with the client's refusal or the server's answer.
        case refused(String)
    }

    var outcome: Outcome
    /// Where the head ended in the stream (for `accepted`); the stream's length otherwise.
    var end: Int
}

private func handshakeOutcome(_ stream: [UInt8], splitAt split: Int, server: Bool) -> HandshakeResult {
    var client = WebSocketClientHandshake(key: "dGhlIHNhbXBsZSBub25jZQ==")
    var serverSide = WebSocketServerHandshake()
    var offset = 0
    for end in [split, stream.count] where end > offset {
        let readCount = end - offset
        let piece = stream[offset..<end]
        offset = end
        let consumed: Int
        if server {
            switch piece.withUnsafeBytes({ serverSide.receive($0) }) {
            case .incomplete: continue
            case .refused(let response, _):
                check(String(decoding: response, as: UTF8.self).hasPrefix("HTTP/1.1 4"), "a refusal that is not a 4xx answer")
                return HandshakeResult(outcome: .refused(String(decoding: response, as: UTF8.self)), end: stream.count)
            case .upgrade(let request, let taken):
                check(!request.key.isEmpty && request.path.first != nil, "an upgrade without a key or path")
                consumed = taken
            }
        } else {
            switch piece.withUnsafeBytes({ client.receive($0) }) {
            case .incomplete: continue
            case .refused(let refusal): return HandshakeResult(outcome: .refused(refusal.reason), end: stream.count)
            case .accepted(let taken): consumed = taken
            }
        }
        check(consumed > 0 && consumed <= readCount, "accepted \(consumed) bytes of a \(readCount)-byte read")
        return HandshakeResult(outcome: .accepted, end: end - readCount + consumed)
    }
    return HandshakeResult(outcome: .incomplete, end: stream.count)
}

/// What a frame reader made of a stream.
private struct FramesRead: Equatable {
    var events: [WebSocketFrameReader.Event] = []
    var violation: WebSocketFrameReader.Violation?
}

/// Reads `stream` in one read, in two (split at `split`) and in reads of `smallRead` bytes, and
/// checks that all three agree and that what was read keeps the reader's promises.
private func readEverySplit(_ stream: [UInt8], maximumMessageSize: Int, peerMasks: Bool, splitAt split: Int, smallRead: Int) {
    let whole = read(stream, in: [], maximumMessageSize: maximumMessageSize, peerMasks: peerMasks)
    check(read(stream, in: [split], maximumMessageSize: maximumMessageSize, peerMasks: peerMasks) == whole, "a split at \(split) changed the events")
    let small = Array(repeating: smallRead, count: stream.count / smallRead + 1)
    check(read(stream, in: small, maximumMessageSize: maximumMessageSize, peerMasks: peerMasks) == whole, "reads of \(smallRead) changed the events")
    for (index, event) in whole.events.enumerated() {
        switch event {
        case .message(let bytes, let isText):
            check(bytes.count <= maximumMessageSize, "a \(bytes.count)-byte message over the \(maximumMessageSize)-byte limit")
            check(!isText || String(validating: bytes, as: UTF8.self) != nil, "a text message that is not UTF-8")
        case .ping(let payload):
            check(payload.count <= 125, "a \(payload.count)-byte ping")
        case .pong:
            break
        case .close(let code, _):
            check(index == whole.events.count - 1 && whole.violation == nil, "events after a close frame")
            if let code { check(code >= 1000 && code < 5000, "close code \(code) accepted") }
        }
    }
    if let violation = whole.violation {
        check([1002, 1007, 1009].contains(violation.code), "violation code \(violation.code)")
    }
}

/// Feeds `stream` to a fresh reader in reads of `sizes` (the rest in one last read), going on
/// after the end: a finished reader must take more input without events or errors.
private func read(_ stream: [UInt8], in sizes: [Int], maximumMessageSize: Int, peerMasks: Bool) -> FramesRead {
    var reader = WebSocketFrameReader(maximumMessageSize: maximumMessageSize, peerMasks: peerMasks)
    var result = FramesRead()
    var offset = 0
    for size in sizes + [stream.count] where offset < stream.count {
        let end = min(stream.count, offset + size)
        let wasDone = reader.isDone
        let eventsBefore = result.events.count
        stream[offset..<end].withUnsafeBytes { piece in
            do throws(WebSocketFrameReader.Violation) {
                try reader.read(piece) { result.events.append($0) }
            } catch {
                check(result.violation == nil, "a second violation after \(String(describing: result.violation))")
                result.violation = error
                check(reader.isDone, "the reader reads on after a violation")
            }
        }
        check(!wasDone || result.events.count == eventsBefore, "a finished reader delivered events")
        offset = end
    }
    return result
}

/// The entry point SwiftPM links `main` to: hands over to libFuzzer's driver.
@_cdecl("FuzzWebSocketFrames_main")
public func FuzzWebSocketFramesMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runLibFuzzer(argc, argv, { data, size in fuzzWebSocketFrames(data, size) })
}

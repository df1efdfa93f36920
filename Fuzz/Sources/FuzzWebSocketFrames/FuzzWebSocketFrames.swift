import FuzzSupport

// `WebSocketFrameReader` and `WebSocketClientHandshake` are `package` types of RiverWebSocket,
// which another package (this one) cannot see: their two source files are symlinked into this
// target and compiled here, unchanged and instrumented like the rest.

/// libFuzzer entry: what a `ws://` client reads from a server, the upgrade response and then the
/// frames, read by `WebSocketClientHandshake` and `WebSocketFrameReader` in pieces.
///
/// Input format: byte 0 picks the maximum message size (bits 7–6: 1 MiB, 0, 100 or 4096
/// bytes) and the size of the small reads (bits 3–0, plus one); byte 1 is where the rest is split
/// in two reads (as a fraction of its length, /256). The rest is what the server sends: it goes
/// through the handshake (RFC 6455's example key) and, when accepted, what follows the response
/// goes to a frame reader; the whole rest also goes to a frame reader on its own.
///
/// Beyond not trapping, the checks: a verdict never depends on how the bytes were split into
/// reads (one read, two reads, small reads give the same events, violation and handshake
/// outcome); no message exceeds the maximum; a control payload is at most 125 bytes; a violation
/// is 1002 or 1009 and ends the input, as a close frame does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocketFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzInput(data, size)
    guard input.count >= 2 else { return 0 }
    let maximumMessageSize = [1 << 20, 0, 100, 4096][Int(input[0] >> 6)]
    let smallRead = Int(input[0] & 0x0F) + 1
    let stream = Array(input[2...])
    let split = stream.count * Int(input[1]) / 256

    let response = handshakeOutcome(stream, splitAt: split)
    check(handshakeOutcome(stream, splitAt: 0) == response, "the handshake outcome depends on the split")
    if case .accepted(let consumed) = response.outcome {
        check(consumed <= response.end, "consumed more than the stream held")
        let frames = Array(stream[response.end...])
        readEverySplit(frames, maximumMessageSize: maximumMessageSize, splitAt: split, smallRead: smallRead)
    }
    readEverySplit(stream, maximumMessageSize: maximumMessageSize, splitAt: split, smallRead: smallRead)
    return 0
}

/// Traps (so libFuzzer reports the input) when an invariant is broken.
private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// How the handshake ended on `stream` fed in two reads (split at `split`; 0: one read).
private struct HandshakeResult: Equatable {
    var outcome: WebSocketClientHandshake.Outcome
    /// Where the response ended in the stream (for `accepted`); the stream's length otherwise.
    var end: Int

    static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs.outcome, rhs.outcome) {
        case (.accepted, .accepted): lhs.end == rhs.end
        default: lhs.outcome == rhs.outcome
        }
    }
}

private func handshakeOutcome(_ stream: [UInt8], splitAt split: Int) -> HandshakeResult {
    var handshake = WebSocketClientHandshake(key: "dGhlIHNhbXBsZSBub25jZQ==")
    var offset = 0
    for end in [split, stream.count] where end > offset {
        let outcome = stream[offset..<end].withUnsafeBytes { handshake.receive($0) }
        let readCount = end - offset
        offset = end
        switch outcome {
        case .incomplete:
            continue
        case .accepted(let consumed):
            check(consumed > 0 && consumed <= readCount, "accepted(consumed: \(consumed)) of a \(readCount)-byte read")
            return HandshakeResult(outcome: outcome, end: end - readCount + consumed)
        case .refused:
            return HandshakeResult(outcome: outcome, end: stream.count)
        }
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
private func readEverySplit(_ stream: [UInt8], maximumMessageSize: Int, splitAt split: Int, smallRead: Int) {
    let whole = read(stream, in: [], maximumMessageSize: maximumMessageSize)
    check(read(stream, in: [split], maximumMessageSize: maximumMessageSize) == whole, "a split at \(split) changed the events")
    let small = Array(repeating: smallRead, count: stream.count / smallRead + 1)
    check(read(stream, in: small, maximumMessageSize: maximumMessageSize) == whole, "reads of \(smallRead) changed the events")
    for (index, event) in whole.events.enumerated() {
        switch event {
        case .message(let bytes, _):
            check(bytes.count <= maximumMessageSize, "a \(bytes.count)-byte message over the \(maximumMessageSize)-byte limit")
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
        check(violation.code == 1002 || violation.code == 1009, "violation code \(violation.code)")
    }
}

/// Feeds `stream` to a fresh reader in reads of `sizes` (the rest in one last read), going on
/// after the end: a finished reader must take more input without events or errors.
private func read(_ stream: [UInt8], in sizes: [Int], maximumMessageSize: Int) -> FramesRead {
    var reader = WebSocketFrameReader(maximumMessageSize: maximumMessageSize)
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

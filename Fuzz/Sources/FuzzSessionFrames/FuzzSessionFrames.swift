import FuzzSupport
import River

/// libFuzzer entry: a ``SessionStateMachine`` driven to `connected` (handshake done, a few
/// messages buffered), then fed the input as inbound frames.
///
/// Input format: the input is split at the separator `F0 9F 8C 8A` (🌊); each piece is one
/// frame, except one-byte pieces, which are events: `0` text frame, `1` timer tick 1 s later,
/// `2` connection drop then a reconnect up to the handshake (so the next frame is the
/// handshake reply), `3` an outbound send, `4` hard disconnect and reconnect. The codec is JSON
/// when the input starts with `{`, msgpack otherwise (so raw recorded frames are good seeds).
/// Every delivered message is parsed as a result and decoded with ``RiverValueDecoder``.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSessionFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzInput(data, size)
    let codec: any RiverCodec = input.first == UInt8(ascii: "{") ? JSONCodec() : MessagePackCodec()
    var driver = SessionDriver(codec: codec)
    driver.connect()
    driver.send()
    driver.send()
    for piece in split(input) {
        if piece.count == 1 {
            switch piece[0] {
            case 0: driver.perform(driver.machine.textFrameReceived(now: driver.now, jitter: 0.5))
            case 1: driver.tick(.seconds(1))
            case 2: driver.dropAndRedial()
            case 3: driver.send()
            case 4:
                driver.perform(driver.machine.hardDisconnect())
                driver.connect()
            default: driver.frame(piece)
            }
        } else {
            driver.frame(piece)
        }
    }
    driver.perform(driver.machine.close())
    return 0
}

private let separator: [UInt8] = [0xF0, 0x9F, 0x8C, 0x8A]

private func split(_ input: [UInt8]) -> [[UInt8]] {
    var pieces: [[UInt8]] = []
    var start = 0
    var i = 0
    while i + separator.count <= input.count {
        if input[i] == separator[0], Array(input[i..<i + separator.count]) == separator {
            pieces.append(Array(input[start..<i]))
            i += separator.count
            start = i
        } else {
            i += 1
        }
    }
    pieces.append(Array(input[start...]))
    return pieces
}

struct SessionDriver {
    var machine: SessionStateMachine
    let codec: any RiverCodec
    var now = ContinuousClock.now
    var attempt: UInt64?
    var sent = 0

    init(codec: any RiverCodec) {
        self.codec = codec
        machine = SessionStateMachine(configuration: .defaults, clientID: "client", serverID: "SERVER", codec: codec)
    }

    /// Connects (dial, metadata, an ok handshake) if the machine is not connected.
    mutating func connect() {
        perform(machine.connect(now: now, jitter: 0))
        if case .backingOff(_, let until) = machine.state {
            now = until
            perform(machine.tick(now: now, jitter: 0))
        }
        guard let attempt else { return }
        perform(machine.dialSucceeded(attempt: attempt, now: now))
        perform(machine.metadataReady(attempt: attempt, result: .success(nil), now: now))
        guard let id = machine.sessionID else { return }
        let reply = TransportMessage(
            id: "hs0000000000", from: "SERVER", to: "client", seq: 0, ack: 0, streamId: "hsstream0000",
            controlFlags: [], payload: ControlPayload.handshakeResponse(.ok(sessionId: id)).value)
        if let bytes = try? codec.encode(reply) {
            perform(machine.frameReceived(bytes, now: now, jitter: 0))
        }
    }

    mutating func dropAndRedial() {
        guard let current = attempt else { return }
        perform(machine.connectionClosed(attempt: current, reason: "fuzz drop", now: now, jitter: 0))
        if case .backingOff(_, let until) = machine.state {
            now = until
            perform(machine.tick(now: now, jitter: 0))
        }
        guard let next = attempt, next != current else { return }
        perform(machine.dialSucceeded(attempt: next, now: now))
        perform(machine.metadataReady(attempt: next, result: .success(["token": "t"]), now: now))
    }

    mutating func send() {
        sent += 1
        let outbound = SessionStateMachine.Outbound(
            streamId: "stream\(sent % 3)", controlFlags: sent == 1 ? .streamOpen : [], payload: ["n": .int(Int64(sent))],
            serviceName: sent == 1 ? "test" : nil, procedureName: sent == 1 ? "add" : nil)
        if let (_, actions) = try? machine.send(outbound, now: now, jitter: 0) { perform(actions) }
    }

    mutating func tick(_ duration: Duration) {
        now = now + duration
        perform(machine.tick(now: now, jitter: 0.25))
    }

    mutating func frame(_ bytes: [UInt8]) {
        perform(machine.frameReceived(bytes, now: now, jitter: 0))
    }

    /// Checks the machine's invariants and plays the shell's part for the actions.
    mutating func perform(_ actions: [SessionStateMachine.Action]) {
        for action in actions {
            switch action {
            case .dial(let next): attempt = next
            case .deliver(let message): FuzzChecks.exercise(message)
            default: break
            }
        }
        let seqs = machine.bufferedSeqs
        for (a, b) in zip(seqs, seqs.dropFirst()) where b != a + 1 {
            fatalError("send buffer seqs not consecutive: \(seqs)")
        }
        if let first = seqs.first, let next = machine.nextSeq, first + seqs.count != next {
            fatalError("send buffer \(seqs) does not end before nextSeq \(next)")
        }
        if let ack = machine.ack, ack < 0 { fatalError("negative ack \(ack)") }
    }
}

/// The entry point SwiftPM links `main` to: hands over to libFuzzer's driver.
@_cdecl("FuzzSessionFrames_main")
public func FuzzSessionFramesMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runLibFuzzer(argc, argv, { data, size in fuzzSessionFrames(data, size) })
}

import Foundation
import Testing
@testable import River

/// Replays the fuzz seed corpus (`Fuzz/corpus`, every recorded wire frame) and known hostile
/// inputs through the codecs and a connected session on every test run, with the invariants
/// the libFuzzer targets check (see `Fuzz/README.md`). Inputs that libFuzzer finds to crash go
/// into `hostileInputs` once fixed.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let corpus: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    static func seeds(_ codec: String) -> [[UInt8]] {
        let folder = corpus.appendingPathComponent(codec)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().compactMap { name in
            (try? Data(contentsOf: folder.appendingPathComponent(name))).map { [UInt8]($0) }
        }
    }

    /// Inputs that must be rejected with an error, never a trap.
    static let hostileInputs: [[UInt8]] = [
        [],
        [0xDF, 0xFF, 0xFF, 0xFF, 0xFF],
        [0xDD, 0xFF, 0xFF, 0xFF, 0xFF],
        [0xDB, 0xFF, 0xFF, 0xFF, 0xFF, 0x41],
        [0xC6, 0xFF, 0xFF, 0xFF, 0xFF, 0x00],
        [0xC9, 0xFF, 0xFF, 0xFF, 0xFF, 0x00],
        [0xD7, 0xFF] + [UInt8](repeating: 0xFF, count: 8),  // timestamp ext with an absurd date
        [UInt8](repeating: 0x91, count: 50_000) + [0xC0],
        [UInt8](repeating: UInt8(ascii: "["), count: 50_000),
        Array("{\"$b\":\"99999999999999999999999999999999999999999999999\"}".utf8),
        Array("{\"$t\":\"!!!!\"}".utf8),
        Array("{\"a\":\"\\ud800\"}".utf8),
        Array("-".utf8),
        Array("1e99999".utf8),
    ]

    @Test(arguments: ["json", "msgpack"])
    func seedCorpusRoundTrips(codecName: String) throws {
        let codec: any RiverCodec = codecName == "json" ? JSONCodec() : MessagePackCodec()
        let seeds = Self.seeds(codecName)
        #expect(seeds.count > 50, "run scripts/fuzz-corpus.sh to build the corpus")
        for seed in seeds {
            let message = try codec.decode(seed)
            let again = try codec.decode(try codec.encode(message))
            #expect(again == message)
            _ = try? ResultEnvelope(parsing: message.payload)
            _ = try? ControlPayload.parse(message.payload)
        }
    }

    @Test(arguments: ["json", "msgpack"])
    func hostileInputsAreErrorsNotTraps(codecName: String) {
        let codec: any RiverCodec = codecName == "json" ? JSONCodec() : MessagePackCodec()
        for input in Self.hostileInputs {
            #expect(throws: RiverCodecError.self) { _ = try codec.decode(input) }
            _ = try? RiverValueDecoder().decode([String: Int].self, from: (try? Self.decodeValue(codec, input)) ?? .null)
        }
    }

    static func decodeValue(_ codec: any RiverCodec, _ bytes: [UInt8]) throws -> RiverValue {
        if let json = codec as? JSONCodec { return try json.decodeValue(bytes) }
        if let msgpack = codec as? MessagePackCodec { return try msgpack.decodeValue(bytes) }
        return .null
    }

    /// Every seed and hostile input, fed to a connected session as a server frame: the
    /// machine never traps and its send buffer stays consistent.
    @Test(arguments: ["json", "msgpack"])
    func connectedSessionSurvivesEveryInput(codecName: String) throws {
        let codec: any RiverCodec = codecName == "json" ? JSONCodec() : MessagePackCodec()
        for input in Self.seeds(codecName) + Self.hostileInputs {
            var machine = SessionStateMachine(configuration: .defaults, clientID: "client", serverID: "SERVER", codec: codec)
            let now = ContinuousClock.now
            let dial = machine.connect(now: now, jitter: 0).compactMap { if case .dial(let a) = $0 { a } else { nil } }
            let attempt = try #require(dial.first)
            _ = machine.dialSucceeded(attempt: attempt, now: now)
            _ = machine.metadataReady(attempt: attempt, result: .success(nil), now: now)
            let id = try #require(machine.sessionID)
            let reply = TransportMessage(
                id: "hs0000000000", from: "SERVER", to: "client", seq: 0, ack: 0, streamId: "hsstream0000",
                controlFlags: [], payload: ControlPayload.handshakeResponse(.ok(sessionId: id)).value)
            _ = machine.frameReceived(try codec.encode(reply), now: now, jitter: 0)
            #expect(machine.isConnected)
            _ = try machine.send(.init(streamId: "s1", controlFlags: .streamOpen, payload: ["n": 1]), now: now, jitter: 0)
            for action in machine.frameReceived(input, now: now, jitter: 0) {
                if case .deliver(let message) = action { _ = try? ResultEnvelope(parsing: message.payload) }
            }
            let seqs = machine.bufferedSeqs
            #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 })
        }
    }
}

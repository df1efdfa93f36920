import Foundation
import River
import Testing

/// Every data frame recorded between the official TypeScript client and server decodes to
/// the recorded message, and survives a re-encode.
@Suite("Codec: golden wire traces")
struct CodecTraceTests {
    static let jsonFrames: [CodecFixtures.Frame] = (try? CodecFixtures.frames("json")) ?? []
    static let binaryFrames: [CodecFixtures.Frame] = (try? CodecFixtures.frames("binary")) ?? []

    @Test func fixturesArePresent() throws {
        #expect(CodecFixtures.traceFiles("json").count == 13)
        #expect(CodecFixtures.traceFiles("binary").count == 13)
        #expect(try CodecFixtures.frames("json").count > 50)
        #expect(try CodecFixtures.frames("binary").count > 50)
    }

    @Test("JSON trace frames", arguments: jsonFrames)
    func jsonFrame(_ frame: CodecFixtures.Frame) throws {
        try check(frame, JSONCodec())
    }

    @Test("msgpack trace frames", arguments: binaryFrames)
    func msgpackFrame(_ frame: CodecFixtures.Frame) throws {
        try check(frame, MessagePackCodec())
    }

    private func check(_ frame: CodecFixtures.Frame, _ codec: some RiverCodec) throws {
        let decoded = try codec.decode(frame.bytes)
        #expect(decoded == frame.expected)
        let reencoded = try codec.encode(decoded)
        #expect(try codec.decode(reencoded) == decoded)
    }

    /// Our encoder writes the same bytes as the reference for these frames: key order per
    /// message kind, integer formats, and (JSON) the same text. Only payload objects with
    /// several keys may differ, since we sort keys and the reference keeps insertion order.
    @Test("byte-identical re-encoding where key order allows", arguments: ["json", "binary"])
    func byteIdentical(_ directory: String) throws {
        let codec: any RiverCodec = directory == "json" ? JSONCodec() : MessagePackCodec()
        var identical = 0
        var total = 0
        for frame in try CodecFixtures.frames(directory) {
            total += 1
            let message = try codec.decode(frame.bytes)
            if try codec.encode(message) == frame.bytes { identical += 1 }
        }
        // Heartbeats, CLOSE, stream data and results with single-key payloads match exactly.
        #expect(identical * 3 >= total, "\(identical) of \(total) frames re-encode byte-identically")
    }

    @Test("heartbeat frame re-encodes byte-identically", arguments: NamedCodec.all)
    func heartbeatIdentical(_ named: NamedCodec) throws {
        let directory = named.codec is JSONCodec ? "json" : "binary"
        let frames = try CodecFixtures.frames(directory).filter { $0.file == "heartbeat.jsonl" }
        let heartbeats = frames.filter { $0.expected.streamId == "heartbeat" }
        try #require(!heartbeats.isEmpty)
        for frame in heartbeats {
            #expect(try named.codec.encode(named.codec.decode(frame.bytes)) == frame.bytes)
        }
    }
}

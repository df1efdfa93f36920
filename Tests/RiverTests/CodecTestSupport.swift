import Foundation
import River

/// A small, fast, seedable generator (Steele, Lea & Flood's SplitMix64) for reproducible
/// property-style tests.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A codec under test, named for test output.
struct NamedCodec: CustomTestStringConvertible, Sendable {
    let codec: any RiverCodec
    var testDescription: String { codec.name }

    static let json = NamedCodec(codec: JSONCodec())
    static let msgpack = NamedCodec(codec: MessagePackCodec())
    static let all: [NamedCodec] = [.json, .msgpack]

    func encodeValue(_ value: RiverValue) throws -> [UInt8] {
        switch codec {
        case let json as JSONCodec: try json.encodeValue(value)
        case let msgpack as MessagePackCodec: try msgpack.encodeValue(value)
        default: []
        }
    }

    func decodeValue(_ bytes: [UInt8]) throws -> RiverValue {
        switch codec {
        case let json as JSONCodec: try json.decodeValue(bytes)
        case let msgpack as MessagePackCodec: try msgpack.decodeValue(bytes)
        default: .null
        }
    }

    /// What `value` looks like after a round trip through this codec: JSON has no date type,
    /// so dates come back as their ISO 8601 text.
    func expectedRoundTrip(_ value: RiverValue) -> RiverValue {
        guard codec is JSONCodec else { return value }
        switch value {
        case .date(let date): return .string(CodecFixtures.isoString(date))
        case .array(let elements): return .array(elements.map(expectedRoundTrip))
        case .object(let fields): return .object(fields.mapValues(expectedRoundTrip))
        default: return value
        }
    }
}

import Testing

enum CodecFixtures {
    /// `Tests/Fixtures`, found from this file's path.
    static let fixturesDirectory: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.lastPathComponent != "Tests" && url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("Fixtures")
    }()

    static func traceFiles(_ codecDirectory: String) -> [URL] {
        let dir = fixturesDirectory.appendingPathComponent("wire-traces").appendingPathComponent(codecDirectory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") }.sorted().map { dir.appendingPathComponent($0) }
    }

    static func isoString(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// Replaces the trace's `{"$bytes_b64": …}` (msgpack `bin`) with bytes.
    static func replacingBinaryMarkers(_ value: RiverValue) -> RiverValue {
        switch value {
        case .object(let fields):
            if fields.count == 1, case .string(let b64)? = fields["$bytes_b64"], let data = Data(base64Encoded: b64) {
                return .bytes(Array(data))
            }
            return .object(fields.mapValues(replacingBinaryMarkers))
        case .array(let elements):
            return .array(elements.map(replacingBinaryMarkers))
        default:
            return value
        }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The expected message of a trace line's `message` field.
    static func expectedMessage(_ value: RiverValue) throws -> TransportMessage {
        guard case .object(let f) = value else { throw Failure(description: "message is not an object") }
        func string(_ key: String) throws -> String {
            guard case .string(let s)? = f[key] else { throw Failure(description: "no string \(key)") }
            return s
        }
        func int(_ key: String) throws -> Int {
            guard let i = f[key]?.int64Value else { throw Failure(description: "no integer \(key)") }
            return Int(i)
        }
        var tracing: TracingContext?
        if case .object(let t)? = f["tracing"], case .string(let parent)? = t["traceparent"],
            case .string(let state)? = t["tracestate"]
        {
            tracing = TracingContext(traceparent: parent, tracestate: state)
        }
        return TransportMessage(
            id: try string("id"), from: try string("from"), to: try string("to"),
            seq: try int("seq"), ack: try int("ack"), streamId: try string("streamId"),
            controlFlags: ControlFlags(rawValue: try int("controlFlags")),
            payload: f["payload"] ?? .null,
            serviceName: f["serviceName"]?.stringValue, procedureName: f["procedureName"]?.stringValue,
            tracing: tracing)
    }

    struct TraceLine: Decodable {
        var frame: String
        var bytes_b64: String?
        var message: RiverValue?
    }

    struct Frame: CustomTestStringConvertible, Sendable {
        var file: String
        var line: Int
        var bytes: [UInt8]
        var expected: TransportMessage
        var testDescription: String { "\(file):\(line)" }
    }

    /// Every binary data frame of every trace of one codec directory.
    static func frames(_ codecDirectory: String) throws -> [Frame] {
        var frames: [Frame] = []
        for url in traceFiles(codecDirectory) {
            let text = try String(contentsOf: url, encoding: .utf8)
            for (index, line) in text.split(separator: "\n").enumerated() {
                let trace = try JSONDecoder().decode(TraceLine.self, from: Data(line.utf8))
                guard trace.frame == "binary", let b64 = trace.bytes_b64, let data = Data(base64Encoded: b64),
                    let message = trace.message
                else { continue }
                let expected = try expectedMessage(codecDirectory == "binary" ? replacingBinaryMarkers(message) : message)
                frames.append(Frame(file: url.lastPathComponent, line: index + 1, bytes: Array(data), expected: expected))
            }
        }
        return frames
    }
}

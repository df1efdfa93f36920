import Foundation
import River

/// The recorded protobuf wire traces (`Tests/Fixtures/wire-traces/protobuf`, copied from the
/// team's reference recordings: River 0.220.1 protobuf client ↔ server).
enum ProtoTraceFixtures {
    /// One recorded frame.
    struct Frame: Sendable, CustomStringConvertible {
        let scenario: String
        let index: Int
        let fromClient: Bool
        let bytes: [UInt8]
        /// The protobuf field numbers present, in wire order.
        let fieldNumbers: [Int]
        /// `payloadBytes` or `payloadMsgpack`.
        let payloadCase: String
        /// The payload's own bytes (the protobuf message, or the msgpack body).
        let payloadBytes: [UInt8]
        var description: String { "\(scenario)#\(index)" }
    }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wire-traces/protobuf")

    static func scenarios() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") }.map { String($0.dropLast(6)) }.sorted()
    }

    /// The `meta` line of a scenario.
    static func meta(_ scenario: String) throws -> [String: Any] {
        let text = try String(contentsOf: directory.appendingPathComponent("\(scenario).jsonl"), encoding: .utf8)
        guard let first = text.split(separator: "\n").first,
            let object = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any],
            let meta = object["meta"] as? [String: Any]
        else { return [:] }
        return meta
    }

    static func frames(_ scenario: String) throws -> [Frame] {
        let text = try String(contentsOf: directory.appendingPathComponent("\(scenario).jsonl"), encoding: .utf8)
        var frames: [Frame] = []
        for line in text.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let hex = object["hex"] as? String, let index = object["i"] as? Int, let dir = object["dir"] as? String,
                let fields = object["fields"] as? [[Any]], let payload = object["payload"] as? [String: Any],
                let payloadCase = payload["case"] as? String
            else { continue }
            frames.append(
                Frame(
                    scenario: scenario, index: index, fromClient: dir == "client->server", bytes: bytes(hex: hex),
                    fieldNumbers: fields.compactMap { $0.first as? Int }, payloadCase: payloadCase,
                    payloadBytes: bytes(hex: payload["hex"] as? String ?? "")))
        }
        return frames
    }

    static func allFrames() -> [Frame] {
        scenarios().flatMap { (try? frames($0)) ?? [] }
    }

    static func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = nibble(high), let l = nibble(low) else { return result }
            result.append(h << 4 | l)
        }
        return result
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

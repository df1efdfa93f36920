import Foundation
import River
import RiverTesting
import RiverTestServer
import Testing

/// Replays the client side of the recorded reference transcripts (Tests/Fixtures/wire-traces)
/// byte for byte against the Swift server and compares what it answers with what the
/// reference server sent: seq, stream, flags, payload, from/to, no tracing. Message ids, the
/// handshake response's stream id and response acks (they depend on read timing) are not
/// compared.
@Suite("Server trace conformance")
struct ServerTraceConformanceTests {
    static let traces = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wire-traces")

    /// One line of a `.jsonl` transcript.
    struct Frame: Decodable {
        var dir: String
        var frame: String
        var bytes_b64: String
        var conn: Int?
        var forwarded: Bool?
        var close_reply: Bool?
    }

    static let scenarios = [
        "handshake_rpc", "stream_echo", "upload", "subscription", "fallible", "invalid_request", "cancel_rpc",
        "binary_payload", "handshake_metadata_valid", "handshake_metadata_invalid", "reconnect", "reconnect_inflight",
    ]

    @Test(arguments: ServerTestCodec.allCases, scenarios)
    func replayMatchesReference(codec: ServerTestCodec, scenario: String) async throws {
        let directory = codec == .json ? "json" : "binary"
        let text = try String(contentsOf: Self.traces.appendingPathComponent("\(directory)/\(scenario).jsonl"), encoding: .utf8)
        let frames = try text.split(separator: "\n").map { try JSONDecoder().decode(Frame.self, from: Data($0.utf8)) }
        let mode: RiverTestServer.Mode = scenario.hasPrefix("handshake_metadata") ? .handshake : .standard

        try await withTestServer(codec, mode: mode) { server, harness in
            var connectionNumber = 1
            var client = try await harness.connect()
            for frame in frames {
                guard let bytes = Data(base64Encoded: frame.bytes_b64).map(Array.init) else {
                    Issue.record("bad base64 in \(scenario)")
                    return
                }
                if let conn = frame.conn, conn != connectionNumber {
                    // The proxy cut the connection: cut ours and open the next one.
                    client.connection.drop()
                    try await waitUntil("the server saw the cut") { server.connectionCount == 0 }
                    client = try await harness.connect()
                    connectionNumber = conn
                }
                switch (frame.dir, frame.frame) {
                case ("client_to_server", "binary"):
                    if frame.forwarded == false { continue }
                    client.connection.send(bytes)
                case ("server_to_client", "binary"):
                    let expected = try harness.codec.decode(bytes)
                    let actual = try await client.nextRawMessage()
                    compare(actual, expected, scenario: scenario)
                case ("server_to_client", "close") where frame.close_reply != true:
                    // The reference server closed the connection itself (a rejected handshake).
                    let closure = try await client.expectClosed()
                    #expect(closure.code == UInt16(bytes.count >= 2 ? Int(bytes[0]) << 8 | Int(bytes[1]) : 0))
                    return
                default:
                    continue  // client closes and close replies end the scenario
                }
            }
        }
    }

    private func compare(_ actual: TransportMessage, _ expected: TransportMessage, scenario: String) {
        let isHandshake = expected.payload["type"] == "HANDSHAKE_RESP"
        #expect(actual.from == expected.from, "\(scenario): from")
        #expect(actual.to == expected.to, "\(scenario): to")
        #expect(actual.seq == expected.seq, "\(scenario): seq of \(expected.payload)")
        #expect(actual.controlFlags == expected.controlFlags, "\(scenario): flags of \(expected.payload)")
        #expect(actual.payload == expected.payload, "\(scenario): payload")
        #expect(actual.serviceName == nil && actual.procedureName == nil && actual.tracing == nil, "\(scenario): optional fields")
        if isHandshake {
            #expect(actual.ack == 0, "\(scenario): handshake ack")
        } else {
            #expect(actual.streamId == expected.streamId, "\(scenario): stream of \(expected.payload)")
        }
    }
}

import River
import RiverProtobuf
import RiverProtobufTestService
import RiverTestServer
import RiverWebSocket
import SwiftProtobuf
import Testing

/// The README's "Protobuf services" example, compiled and run against the protobuf test
/// server in handshake mode (`print` replaced by collecting what it would print).
@Suite(.timeLimit(.minutes(1))) struct ProtobufDocumentationExampleTests {
    @Test func theReadmeExampleRuns() async throws {
        // The README's code, with patient timings on both sides (`.patient()`, not in the
        // README): a parallel `swift test` on a loaded machine delays both by seconds.
        let serverConfiguration = RiverTestServer.Configuration(codec: ProtoCodec(), mode: .protobufHandshake, timings: .patient)
        try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { _, port in
            var printed: [String] = []
            try await withRiverClient(
                url: "ws://127.0.0.1:\(port)",
                configuration: RiverClient.Configuration(
                    codec: ProtoCodec(),
                    handshakeMetadata: ProtobufHandshake.metadata { River_Test_AuthHandshake.with { $0.token = "let-me-in" } }
                ).patient()
            ) { client in
                let test = River_Test_TestService.Client(client)
                let reply = try await test.echo(.with { $0.text = "hi" })  // unary
                let values = try await test.countUp(.with { $0.limit = 3 }) { responses in  // server streaming
                    var values: [UInt32] = []
                    for try await response in responses { values.append(response.value) }
                    return values
                }
                let sum = try await test.sum { writer in  // client streaming
                    for value in values { try await writer.write(.with { $0.value = value }) }
                }
                let chatted = try await test.chat { writer, responses in  // bidi streaming
                    try await writer.write(.with { $0.text = "hello" })
                    try await writer.finish()
                    var texts: [String] = []
                    for try await message in responses { texts.append(message.text) }
                    return texts
                }
                printed += chatted
                do {
                    _ = try await test.echo(.with { $0.text = "boom" })
                } catch let error as ProtobufRPCError {
                    printed.append("\(error.code) \(error.message) \(error.metadata)")
                }
                printed.append("\(reply.text) \(sum.total)")
            }
            #expect(printed.first == "HELLO")
            #expect(printed.dropFirst().first?.hasPrefix("INVALID_ARGUMENT bad input from swift-") == true)
            #expect(printed.last == "let-me-in:hi 6")
        }
    }
}

import River
import RiverProtobuf
import RiverProtobufTestService
import RiverTesting
import SwiftProtobuf
import Testing

// Application code under test: it depends on the generated protocol only.

/// Counts up to `limit` and returns what it saw.
private func countTo(_ limit: UInt32, service: some River_Test_TestService.ClientProtocol) async throws -> [UInt32] {
    try await service.countUp(.with { $0.limit = limit }, options: .defaults) { responses in
        var seen: [UInt32] = []
        for try await response in responses { seen.append(response.value) }
        return seen
    }
}

/// Sums `values` through the client-streaming `Sum`.
private func total(of values: [UInt32], service: some River_Test_TestService.ClientProtocol) async throws -> UInt32 {
    try await service.sum(options: .defaults) { writer in
        for value in values { try await writer.write(.with { $0.value = value }) }
        try await writer.finish()
    }.total
}

/// Says each line on `Chat` and collects the answers.
private func converse(_ lines: [String], service: some River_Test_TestService.ClientProtocol) async throws -> [String] {
    try await service.chat(options: .defaults) { writer, responses in
        for line in lines { try await writer.write(.with { $0.text = line }) }
        try await writer.finish()
        var answers: [String] = []
        for try await answer in responses { answers.append(answer.text) }
        return answers
    }
}

/// A fake `TestService`: scripted streams, recorded uploads, a chat that answers at once.
private struct FakeTestService: River_Test_TestService.ClientProtocol {
    let sums = RecordingRequestSink<River_Test_SumChunk>()

    /// The request side of the fake chat: each message is answered in reverse.
    struct ReversingChat: RequestSink {
        let answers: AsyncThrowingStream<River_Test_ChatMessage, any Error>.Continuation
        func write(_ request: River_Test_ChatMessage) async throws {
            answers.yield(.with { $0.text = String(request.text.reversed()) })
        }
        func finish() async throws { answers.finish() }
    }

    func echo(_ request: River_Test_EchoRequest, options: CallOptions) async throws -> River_Test_EchoResponse {
        .with { $0.text = request.text }
    }

    func countUp<Value: Sendable>(
        _ request: River_Test_CountRequest, options: CallOptions,
        body: (ProtobufResponseStream<River_Test_CountResponse>) async throws -> Value
    ) async throws -> Value {
        let lost = ProtobufRPCError(RiverError(code: .unexpectedDisconnect, message: "the fake lost its session"))
        let counts = (1...max(request.limit, 1)).map { value in River_Test_CountResponse.with { $0.value = value } }
        return try await body(ProtobufResponseStream(counts, thenThrowing: request.limit > 3 ? lost : nil))
    }

    func sum(
        options: CallOptions, requests: (ProtobufRequestWriter<River_Test_SumChunk>) async throws -> Void
    ) async throws -> River_Test_SumResponse {
        try await requests(ProtobufRequestWriter(sums))
        return .with { $0.total = sums.requests.reduce(0) { $0 + $1.value } }
    }

    func chat<Value: Sendable>(
        options: CallOptions,
        body: (ProtobufRequestWriter<River_Test_ChatMessage>, ProtobufResponseStream<River_Test_ChatMessage>) async throws -> Value
    ) async throws -> Value {
        let (answers, continuation) = AsyncThrowingStream<River_Test_ChatMessage, any Error>.makeStream()
        return try await body(ProtobufRequestWriter(ReversingChat(answers: continuation)), ProtobufResponseStream(answers))
    }
}

/// Fakes of generated protobuf clients drive all four kinds without a server.
@Suite struct ProtobufFakeClientTests {
    @Test func aFakeServerStreamYieldsItsScript() async throws {
        #expect(try await countTo(3, service: FakeTestService()) == [1, 2, 3])
    }

    @Test func aFakeServerStreamCanEndWithALostSession() async throws {
        await #expect { _ = try await countTo(5, service: FakeTestService()) } throws: {
            ($0 as? ProtobufRPCError)?.code == .unexpectedDisconnect
        }
    }

    @Test func aFakeClientStreamRecordsTheRequests() async throws {
        let fake = FakeTestService()
        #expect(try await total(of: [2, 3, 5], service: fake) == 10)
        #expect(fake.sums.requests.map(\.value) == [2, 3, 5])
        #expect(fake.sums.isFinished)
        #expect(try await fake.echo(.with { $0.text = "hi" }, options: .defaults).text == "hi")
    }

    @Test func aFakeBidiStreamAnswersEachMessage() async throws {
        #expect(try await converse(["abc", "river"], service: FakeTestService()) == ["cba", "revir"])
    }
}

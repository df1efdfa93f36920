import River
import RiverReferenceClient
import RiverTesting
import Testing

private typealias TestService = ReferenceServices.Test
private typealias Subscribable = ReferenceServices.Subscribable
private typealias Uploadable = ReferenceServices.Uploadable

// Application code under test: it depends on the generated protocols only.

/// Sends each word on an `echo` stream and collects the answers.
private func echoAll(_ words: [String], test: some TestService.ClientProtocol) async throws -> [String] {
    try await test.echo(.init()) { writer, responses in
        for word in words { try await writer.write(.init(msg: word)) }
        try await writer.finish()
        var answers: [String] = []
        for try await response in responses { answers.append(try response.get().response) }
        return answers
    }
}

/// Sums a subscription's values until it ends; a lost session is reported, not thrown.
private func watchTotal(subscribable: some Subscribable.ClientProtocol) async throws -> (seen: [Double], lost: Bool) {
    try await subscribable.value(.init()) { values in
        var seen: [Double] = []
        do {
            for try await value in values { seen.append(try value.get().count) }
            return (seen, false)
        } catch let error as RiverError where error.code == .unexpectedDisconnect {
            return (seen, true)
        }
    }
}

/// Uploads `numbers` and returns the server's sum.
private func uploadSum(_ numbers: [Double], uploadable: some Uploadable.ClientProtocol) async throws -> Double {
    try await uploadable.addMultiple(.init()) { writer in
        for number in numbers { try await writer.write(.init(n: number)) }
        try await writer.finish()
    }.get().result
}

// The fakes.

/// A fake `test` service whose `echo` answers each request at once, upper-cased.
private struct ShoutingTest: TestService.ClientProtocol {
    /// The request side of the fake `echo`: every request becomes a response.
    struct EchoSink: RequestSink {
        let responses: AsyncThrowingStream<Result<TestService.Echo.Output, TestService.Echo.Failure>, any Error>.Continuation

        func write(_ request: TestService.Echo.Input) async throws {
            responses.yield(.success(.init(response: request.msg.uppercased())))
        }

        func finish() async throws { responses.finish() }
    }

    struct Unused: Error {}

    func add(_ initPayload: TestService.Add.Init, options: CallOptions) async throws -> Result<TestService.Add.Output, TestService.Add.Failure> {
        throw Unused()
    }

    func echo<Result: Sendable>(
        _ initPayload: TestService.Echo.Init, options: CallOptions,
        body: (RequestWriter<TestService.Echo.Input>, ResponseStream<TestService.Echo.Output, TestService.Echo.Failure>) async throws -> Result
    ) async throws -> Result {
        let (responses, continuation) = AsyncThrowingStream<Swift.Result<TestService.Echo.Output, TestService.Echo.Failure>, any Error>.makeStream()
        return try await body(RequestWriter(EchoSink(responses: continuation)), ResponseStream(responses))
    }

    func echoWithPrefix<Result: Sendable>(
        _ initPayload: TestService.EchoWithPrefix.Init, options: CallOptions,
        body: (RequestWriter<TestService.EchoWithPrefix.Input>, ResponseStream<TestService.EchoWithPrefix.Output, TestService.EchoWithPrefix.Failure>) async throws -> Result
    ) async throws -> Result {
        throw Unused()
    }

    func echoBinary(_ initPayload: TestService.EchoBinary.Init, options: CallOptions) async throws -> Result<TestService.EchoBinary.Output, TestService.EchoBinary.Failure> {
        throw Unused()
    }

    func echoRecursive(_ initPayload: TestService.EchoRecursive.Init, options: CallOptions) async throws -> Result<TestService.EchoRecursive.Output, TestService.EchoRecursive.Failure> {
        throw Unused()
    }
}

/// A fake `subscribable` service whose subscription yields a script, then loses its session.
private struct FlakySubscribable: Subscribable.ClientProtocol {
    let script: [Double]

    func add(_ initPayload: Subscribable.Add.Init, options: CallOptions) async throws -> Result<Subscribable.Add.Output, Subscribable.Add.Failure> {
        .success(.init(result: initPayload.n))
    }

    func value<Result: Sendable>(
        _ initPayload: Subscribable.Value.Init, options: CallOptions,
        body: (ResponseStream<Subscribable.Value.Output, Subscribable.Value.Failure>) async throws -> Result
    ) async throws -> Result {
        let lost = RiverError(code: .unexpectedDisconnect, message: "the fake lost its session")
        return try await body(ResponseStream(script.map { .success(.init(count: $0)) }, thenThrowing: lost))
    }
}

/// A fake `uploadable` service that records the uploads and sums them.
private struct SummingUploadable: Uploadable.ClientProtocol {
    struct Unsupported: Error {}
    let received = RecordingRequestSink<Uploadable.AddMultiple.Input>()

    func addMultiple(
        _ initPayload: Uploadable.AddMultiple.Init, options: CallOptions,
        requests: (RequestWriter<Uploadable.AddMultiple.Input>) async throws -> Void
    ) async throws -> Result<Uploadable.AddMultiple.Output, Uploadable.AddMultiple.Failure> {
        try await requests(RequestWriter(received))
        return .success(.init(result: received.requests.reduce(0) { $0 + $1.n }))
    }

    func addMultipleWithPrefix(
        _ initPayload: Uploadable.AddMultipleWithPrefix.Init, options: CallOptions,
        requests: (RequestWriter<Uploadable.AddMultipleWithPrefix.Input>) async throws -> Void
    ) async throws -> Result<Uploadable.AddMultipleWithPrefix.Output, Uploadable.AddMultipleWithPrefix.Failure> {
        .failure(RiverServiceError(code: "UNSUPPORTED", message: "not in this fake"))
    }

    func cancellableAdd(
        _ initPayload: Uploadable.CancellableAdd.Init, options: CallOptions,
        requests: (RequestWriter<Uploadable.CancellableAdd.Input>) async throws -> Void
    ) async throws -> Result<Uploadable.CancellableAdd.Output, Uploadable.CancellableAdd.Failure> {
        throw Unsupported()
    }
}

/// Fakes of generated clients can drive the streaming kinds too: `RequestWriter` over a
/// `RequestSink` and `ResponseStream` over scripted results stand in for a live call.
@Suite struct CodegenFakeStreamingTests {
    @Test func aFakeStreamAnswersEachRequest() async throws {
        #expect(try await echoAll(["a", "river"], test: ShoutingTest()) == ["A", "RIVER"])
    }

    @Test func aFakeSubscriptionYieldsItsScriptThenFails() async throws {
        let outcome = try await watchTotal(subscribable: FlakySubscribable(script: [1, 2, 3]))
        #expect(outcome.seen == [1, 2, 3])
        #expect(outcome.lost)
    }

    @Test func aFakeUploadRecordsWhatWasWritten() async throws {
        let fake = SummingUploadable()
        #expect(try await uploadSum([1, 2, 3.5], uploadable: fake) == 6.5)
        #expect(fake.received.requests.map(\.n) == [1, 2, 3.5])
        #expect(fake.received.isFinished)
        #expect(fake.received.progress == (3, 3))
    }

    @Test func aRecordingSinkRefusesWritesAfterFinishOrWhenTold() async throws {
        let tooLarge = RiverError(code: .payloadTooLarge, message: "too large for the fake")
        let sink = RecordingRequestSink<Uploadable.AddMultiple.Input>(refusing: { $0.n > 100 ? tooLarge : nil })
        let writer = RequestWriter(sink)
        try await writer.write(.init(n: 1))
        await #expect { try await writer.write(.init(n: 101)) } throws: { ($0 as? RiverError)?.code == .payloadTooLarge }
        try await writer.finish()
        await #expect { try await writer.write(.init(n: 2)) } throws: { ($0 as? RiverError)?.code == .cancel }
        #expect(sink.requests.map(\.n) == [1])
    }

    @Test func endedReportsTheFakeCallsEndAndReturnsOnCancellation() async throws {
        let sink = RecordingRequestSink<Uploadable.AddMultiple.Input>()
        let writer = RequestWriter(sink)
        // Cancelling the waiting task returns nil, as a live writer does.
        let waiting = Task { await writer.ended() }
        waiting.cancel()
        #expect(await waiting.value == nil)
        // The README's race: an upload closure learns of the lost session from `ended()`.
        let lost = RiverError(code: .unexpectedDisconnect, message: "lost")
        await #expect {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { if let error = await writer.ended() { throw error } }
                sink.end(with: lost)
                try await group.next()
            }
        } throws: { ($0 as? RiverError)?.code == .unexpectedDisconnect }
        // A writer's cancel ends the fake call with CANCEL.
        let cancelled = RecordingRequestSink<Uploadable.AddMultiple.Input>()
        RequestWriter(cancelled).cancel()
        #expect(await RequestWriter(cancelled).ended()?.code == .cancel)
        #expect(cancelled.isCancelled)
    }

    @Test func aSinkWithOnlyWriteUsesTheDefaults() async throws {
        let writer = RequestWriter(ShoutingTest.EchoSink(responses: AsyncThrowingStream.makeStream().continuation))
        try await writer.write(.init(msg: "x"))
        #expect(writer.progress == (0, 0))
        let waiting = Task { await writer.ended() }
        waiting.cancel()
        #expect(await waiting.value == nil)
    }

    @Test func cancellingAScriptedStreamCallsItsHandler() async throws {
        let cancels = RecordingRequestSink<Uploadable.AddMultiple.Input>()
        let stream = ResponseStream<Subscribable.Value.Output, Subscribable.Value.Failure>(
            AsyncThrowingStream { $0.finish() }, onCancel: { cancels.cancel() })
        stream.cancel()
        #expect(cancels.isCancelled)
    }
}

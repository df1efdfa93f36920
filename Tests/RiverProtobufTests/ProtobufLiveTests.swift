import River
import RiverProtobuf
import RiverProtobufTestService
import RiverTestServer
import SwiftProtobuf
import Testing

/// The protobuf client API live over WebSocket against the Swift test server's protobuf mode
/// (`river-test-server --proto`): every method kind, errors, cancellation both ways,
/// deadlines, transparent reconnect, session loss and protobuf handshake metadata.
@Suite(.timeLimit(.minutes(2))) struct ProtobufLiveTests {
    @Test func unaryEchoUpperCases() async throws {
        try await withProtobufClient { test, _, _ in
            let loud = try await test.echo(.with { $0.text = "hello" })
            #expect(loud.text == "HELLO")
            let empty = try await test.echo(River_Test_EchoRequest())
            #expect(empty.text == "")
        }
    }

    @Test func serverStreamingCountsUp() async throws {
        try await withProtobufClient { test, _, server in
            let values = try await test.countUp(.with { $0.limit = 5 }) { responses in
                var values: [UInt32] = []
                for try await response in responses { values.append(response.value) }
                return values
            }
            #expect(values == [1, 2, 3, 4, 5])
            try await eventually("the stream to end on the server") { server.openStreamCount == 0 }
        }
    }

    @Test func clientStreamingSumsUnderBackPressure() async throws {
        try await withProtobufClient { test, _, _ in
            let response = try await test.sum { writer in
                for value in 1...2000 as ClosedRange<UInt32> { try await writer.write(.with { $0.value = value }) }
                #expect(writer.progress.sent == 2000)
            }
            #expect(response.total == 2_001_000)
        }
    }

    @Test func aWriterWaitsForSendBufferRoom() async throws {
        // Fast heartbeats: the frames the blackhole swallowed are replayed after the watchdog
        // closes the connection.
        let timings = RiverTestServer.Timings(heartbeatInterval: .milliseconds(200), heartbeatsUntilDead: 3)
        try await withProtobufClient(timings: timings) { configuration in
            configuration.session.maxBufferedMessages = 4
            configuration.session.heartbeatInterval = .milliseconds(200)
            configuration.session.heartbeatsUntilDead = 3
            configuration.session.backoff.baseInterval = .milliseconds(20)
            configuration.session.backoff.maxJitter = .milliseconds(10)
        } body: { test, client, server in
            _ = try await test.echo(.with { $0.text = "connect" })
            let response = try await test.sum { writer in
                server.setBlackholed(true)  // no acks: the send buffer fills
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for _ in 0..<20 { try await writer.write(.with { $0.value = 1 }) }
                    }
                    try await eventually("a writer to wait for room") { client.transport.writersWaitingForRoom == 1 }
                    server.setBlackholed(false)
                    try await group.waitForAll()
                }
            }
            #expect(response.total == 20)
        }
    }

    @Test func bidiStreamingChats() async throws {
        try await withProtobufClient { test, _, _ in
            let replies = try await test.chat { writer, responses in
                var replies: [String] = []
                var iterator = responses.makeAsyncIterator()
                for text in ["hello", "world"] {
                    try await writer.write(.with { $0.text = text })
                    replies.append(try #require(try await iterator.next()).text)
                }
                try await writer.finish()
                #expect(try await iterator.next() == nil)
                return replies
            }
            #expect(replies == ["HELLO", "WORLD"])
        }
    }

    @Test func aHandlerErrorCarriesItsCodeAndMessage() async throws {
        try await withProtobufClient { test, client, _ in
            let error = await protobufError { _ = try await test.echo(.with { $0.text = "boom" }) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message == "bad input from \(client.transport.clientID)")
            #expect(error?.code.isProtocolError == false)
        }
    }

    @Test func errorMetadataAndTypedDetailsArrive() async throws {
        try await withProtobufClient { test, _, _ in
            let error = await protobufError { _ = try await test.echo(.with { $0.text = "details" }) }
            #expect(error?.code == .failedPrecondition)
            #expect(error?.metadata == ["field": "text"])
            let details = try error?.details(River_Test_EchoResponse.self)
            #expect(details?.map(\.text) == ["why"])
        }
    }

    @Test func aStreamGoesOnAfterAnErrorUntilTheServerCloses() async throws {
        try await withProtobufClient { test, _, _ in
            try await test.chat { writer, responses in
                var iterator = responses.makeAsyncIterator()
                try await writer.write(.with { $0.text = "hello" })
                try await writer.write(.with { $0.text = "boom" })
                #expect(try await iterator.next()?.text == "HELLO")
                let error = await protobufError { _ = try await iterator.next() }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message == "boom is not allowed")
                #expect(try await iterator.next() == nil)  // the server closed after the error
            }
        }
    }

    @Test(arguments: [
        ("cancel", ProtobufRPCError.Code.cancel, "cancelled by handler"),
        ("throw", ProtobufRPCError.Code.uncaughtError, "echo handler threw"),
    ])
    func protocolErrorsArriveAsTheSameType(_ text: String, _ code: ProtobufRPCError.Code, _ message: String) async throws {
        try await withProtobufClient { test, _, _ in
            let error = await protobufError { _ = try await test.echo(.with { $0.text = text }) }
            #expect(error?.code == code)
            #expect(error?.message == message)
            #expect(error?.code.isProtocolError == true)
        }
    }

    @Test func anUnknownMethodIsUnimplemented() async throws {
        try await withProtobufClient { _, client, _ in
            let missing = ProtobufServerStreamingMethod<River_Test_CountRequest, River_Test_CountResponse>(
                service: River_Test_TestService.serviceName, method: "Missing")
            let error = await protobufError {
                try await client.serverStreaming(missing, River_Test_CountRequest()) { responses in
                    for try await _ in responses {}
                }
            }
            #expect(error?.code == .unimplemented)
            #expect(error?.message == "river.test.TestService.Missing is not implemented")
        }
    }

    @Test func cancellingTheCallingTaskSendsCancel() async throws {
        try await withProtobufClient { test, _, server in
            let started = AsyncStream.makeStream(of: Void.self)
            let outcome = await withTaskGroup(of: ProtobufRPCError?.self) { group in
                group.addTask {
                    await protobufError {
                        try await test.chat { writer, responses in
                            try await writer.write(.with { $0.text = "hi" })
                            var iterator = responses.makeAsyncIterator()
                            _ = try await iterator.next()
                            started.continuation.yield()
                            _ = try await iterator.next()  // waits until the task is cancelled
                        }
                    }
                }
                for await _ in started.stream { break }
                group.cancelAll()
                return await group.next() ?? nil
            }
            #expect(outcome?.code == .cancel)
            try await eventually("the server to drop the stream") { server.openStreamCount == 0 }
        }
    }

    @Test func writerCancelEndsAClientStreamingCall() async throws {
        try await withProtobufClient { test, _, server in
            let error = await protobufError {
                _ = try await test.sum { writer in
                    try await writer.write(.with { $0.value = 1 })
                    writer.cancel()
                    try await writer.write(.with { $0.value = 2 })
                }
            }
            #expect(error?.code == .cancel)
            try await eventually("the server to drop the stream") { server.openStreamCount == 0 }
        }
    }

    @Test func aDeadlineEndsTheCall() async throws {
        try await withProtobufClient { test, _, _ in
            let error = await protobufError {
                try await test.chat(options: CallOptions(timeout: .milliseconds(300))) { _, responses in
                    for try await _ in responses {}
                }
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(error?.underlying is RiverError)
        }
    }

    @Test func aBidiStreamSurvivesADroppedConnection() async throws {
        try await withProtobufClient { test, client, server in
            let events = client.events()
            try await test.chat { writer, responses in
                var iterator = responses.makeAsyncIterator()
                try await writer.write(.with { $0.text = "before" })
                #expect(try await iterator.next()?.text == "BEFORE")
                #expect(server.dropAllConnections() == 1)
                try await writer.write(.with { $0.text = "after" })
                #expect(try await iterator.next()?.text == "AFTER")
                try await writer.finish()
                #expect(try await iterator.next() == nil)
            }
            var resumed = false
            for await event in events {
                if case .sessionStatus(.resumed) = event {
                    resumed = true
                    break
                }
            }
            #expect(resumed)
        }
    }

    @Test func aLostSessionFailsTheCallWithUnexpectedDisconnect() async throws {
        try await withProtobufClient { test, client, _ in
            let error = await protobufError {
                try await test.chat { writer, responses in
                    var iterator = responses.makeAsyncIterator()
                    try await writer.write(.with { $0.text = "hi" })
                    _ = try await iterator.next()
                    client.hardDisconnect()
                    _ = try await iterator.next()
                }
            }
            #expect(error?.code == .unexpectedDisconnect)
            // The next call starts a new session.
            let again = try await test.echo(.with { $0.text = "again" })
            #expect(again.text == "AGAIN")
        }
    }

    @Test func handshakeMetadataIsAProtobufMessage() async throws {
        try await withProtobufClient(mode: .protobufHandshake) { configuration in
            configuration.handshakeMetadata = ProtobufHandshake.metadata { River_Test_AuthHandshake.with { $0.token = "let-me-in" } }
        } body: { test, _, _ in
            let reply = try await test.echo(.with { $0.text = "hi" })
            #expect(reply.text == "let-me-in:hi")
        }
    }

    @Test func aRejectedHandshakeFailsTheCall() async throws {
        try await withProtobufClient(mode: .protobufHandshake) { configuration in
            configuration.handshakeMetadata = ProtobufHandshake.metadata { River_Test_AuthHandshake.with { $0.token = "bad-token" } }
        } body: { test, client, _ in
            let events = client.events()
            let error = await protobufError { _ = try await test.echo(.with { $0.text = "hi" }) }
            #expect(error?.code == .unexpectedDisconnect)
            var rejection: HandshakeErrorCode?
            for await event in events {
                if case .protocolError(let failure) = event, case .handshakeFailed(let code) = failure.kind {
                    rejection = code
                    break
                }
            }
            #expect(rejection == .rejectedByCustomHandler)
        }
    }
}

import River
import RiverTestServer
import Testing

/// The reference Python client's scenarios, for both codecs, in memory and over WebSocket.
@Suite("Client calls", .timeLimit(.minutes(1)))
struct ClientCallTests {
    @Test(arguments: ClientSetup.all)
    func rpc(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let first = try await client.rpc(Reference.add, NumberInit(n: 3)).get()
            let second = try await client.rpc(Reference.add, NumberInit(n: 4)).get()
            #expect(first == ResultOutput(result: 3))
            #expect(second == ResultOutput(result: 7))
        }
    }

    @Test(arguments: ClientSetup.all)
    func fallibleRPCReturnsServiceErrorsAsResults(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let result = try await client.rpc(Reference.divide, DivideInit(a: 1, b: 0))
            guard case .failure(let error) = result else {
                Issue.record("expected a service error, got \(result)")
                return
            }
            #expect(error.code == "DIV_BY_ZERO")
            #expect(error.message == "Cannot divide by zero")
            #expect(try await client.rpc(Reference.divide, DivideInit(a: 6, b: 3)).get() == ResultOutput(result: 2))
        }
    }

    @Test(arguments: ClientSetup.all)
    func concurrentRPCs(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let results = try await withThrowingTaskGroup(of: Double.self, returning: [Double].self) { group in
                for i in 0..<200 {
                    group.addTask { try await client.rpc(Reference.orderingAdd, NumberInit(n: Double(i))).get().n }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.sorted() == (0..<200).map(Double.init))
        }
    }

    @Test(arguments: ClientSetup.all)
    func streamEchoesAndEndsWhenBothSidesClose(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let responses = try await client.stream(Reference.echo, Empty()) { writer, responses in
                try await writer.write(EchoInput(msg: "a"))
                try await writer.write(EchoInput(msg: "b"))
                try await writer.write(EchoInput(msg: "c", ignore: true))
                try await writer.finish()
                var all: [String] = []
                for try await result in responses { all.append(try result.get().response) }
                return all
            }
            #expect(responses == ["a", "b"])
        }
    }

    @Test(arguments: ClientSetup.all)
    func emptyStream(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let count = try await client.stream(Reference.echo, Empty()) { writer, responses in
                try await writer.finish()
                var count = 0
                for try await _ in responses { count += 1 }
                return count
            }
            #expect(count == 0)
        }
    }

    @Test(arguments: ClientSetup.all)
    func streamWithInit(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let first = try await client.stream(Reference.echoWithPrefix, PrefixInit(prefix: "hi")) { writer, responses in
                try await writer.write(EchoInput(msg: "there"))
                var iterator = responses.makeAsyncIterator()
                let first = try await iterator.next()
                try await writer.finish()
                #expect(try await iterator.next() == nil)
                return try first?.get().response
            }
            #expect(first == "hi there")
        }
    }

    @Test(arguments: ClientSetup.all)
    func fallibleStreamYieldsErrorsAndGoesOnUntilAServerCancel(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            try await client.stream(Reference.fallibleEcho, Empty()) { writer, responses in
                var iterator = responses.makeAsyncIterator()
                try await writer.write(FallibleEchoInput(msg: "one"))
                #expect(try await iterator.next()?.get().response == "one")
                try await writer.write(FallibleEchoInput(msg: "bad", throwResult: true))
                guard case .failure(let error)? = try await iterator.next() else {
                    Issue.record("expected a service error")
                    return
                }
                #expect(error.code == "STREAM_ERROR")
                try await writer.write(FallibleEchoInput(msg: "two"))
                #expect(try await iterator.next()?.get().response == "two")
                try await writer.write(FallibleEchoInput(msg: "boom", throwError: true))
                let thrown = await #expect(throws: RiverError.self) { _ = try await iterator.next() }
                #expect(thrown?.code == .uncaughtError)
                // After a server cancel the writer refuses to send.
                await #expect(throws: RiverError.self) { try await writer.write(FallibleEchoInput(msg: "late")) }
            }
        }
    }

    @Test(arguments: ClientSetup.all)
    func concurrentStreams(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        let echoed = try await client.stream(Reference.echo, Empty()) { writer, responses in
                            for j in 0..<10 { try await writer.write(EchoInput(msg: "\(i)-\(j)")) }
                            try await writer.finish()
                            var all: [String] = []
                            for try await result in responses { all.append(try result.get().response) }
                            return all
                        }
                        #expect(echoed == (0..<10).map { "\(i)-\($0)" })
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test(arguments: ClientSetup.all)
    func subscriptionSeesUpdatesAndCancelsWhenTheBodyReturns(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            let counts = try await client.subscribe(Reference.value, Empty()) { updates in
                var iterator = updates.makeAsyncIterator()
                let first = try await iterator.next()?.get().count
                _ = try await client.rpc(Reference.subscribableAdd, NumberInit(n: 5)).get()
                let second = try await iterator.next()?.get().count
                return [first, second]
            }
            #expect(counts == [0, 5])
            try await waitUntil("the server to drop the cancelled subscription") { server.openStreamCount == 0 }
        }
    }

    @Test(arguments: ClientSetup.all)
    func subscriptionEndsWhenTheServerCloses(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let all = try await client.subscribe(Reference.immediateSubscription, Empty()) { updates in
                var all: [Bool] = []
                for try await update in updates { all.append(try update.get().done) }
                return all
            }
            #expect(all == [true])
        }
    }

    @Test(arguments: ClientSetup.all)
    func uploads(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let sum = try await client.upload(Reference.addMultiple, Empty()) { writer in
                for n in [1.0, 2, 3] { try await writer.write(NumberInit(n: n)) }
            }
            #expect(try sum.get() == ResultOutput(result: 6))
            let empty = try await client.upload(Reference.addMultiple, Empty()) { _ in }
            #expect(try empty.get() == ResultOutput(result: 0))
            let prefixed = try await client.upload(Reference.addMultipleWithPrefix, PrefixInit(prefix: "sum")) { writer in
                try await writer.write(NumberInit(n: 2))
                try await writer.write(NumberInit(n: 3))
            }
            #expect(try prefixed.get() == StringResult(result: "sum 5"))
        }
    }

    @Test(arguments: ClientSetup.all)
    func uploadCancelledByTheServer(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let error = await #expect(throws: RiverError.self) {
                _ = try await client.upload(Reference.cancellableAdd, Empty()) { writer in
                    try await writer.write(NumberInit(n: 5))
                    try await writer.write(NumberInit(n: 6))
                    // The server cancels once the total reaches 10; a later write may race it.
                    for _ in 0..<1000 {
                        try await writer.write(NumberInit(n: 1))
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }
            }
            #expect(error?.code == .cancel)
            #expect(error?.message == "total exceeds limit")
        }
    }

    @Test(arguments: ClientSetup.all)
    func uploadProgressReachesTheAcknowledgedCount(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            _ = try await client.upload(Reference.addMultiple, Empty()) { writer in
                for n in 0..<50 { try await writer.write(NumberInit(n: Double(n))) }
                #expect(writer.progress.sent == 50)
                // Acks ride on the server's next message (a heartbeat at the latest).
                try await waitUntil("the server to acknowledge the writes") { writer.progress.acknowledged == 50 }
            }
        }
    }

    @Test(arguments: ClientSetup.all)
    func callsOnAClosedClientFailAtOnce(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            _ = try await client.rpc(Reference.add, NumberInit(n: 1))
            client.close()
            client.close()
            let error = await #expect(throws: RiverError.self) { _ = try await client.rpc(Reference.add, NumberInit(n: 1)) }
            #expect(error?.code == .unexpectedDisconnect)
            #expect(error?.message == "the client is closed")
            #expect(error?.cause?.kind == .clientClosed)
        }
    }

    @Test(arguments: ClientSetup.all)
    func closingFailsInFlightCalls(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let error = await #expect(throws: RiverError.self) { _ = try await client.rpc(Reference.blockingRpc, Empty()) }
                    #expect(error?.code == .unexpectedDisconnect)
                }
                try await waitUntil("the rpc to reach the server") { server.openStreamCount == 1 }
                client.close()
                try await group.waitForAll()
            }
        }
    }

    @Test(arguments: ClientSetup.all)
    func cancellingTheTaskCancelsEachKind(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            let calls: [@Sendable () async throws -> Void] = [
                { _ = try await client.rpc(Reference.blockingRpc, Empty()) },
                { _ = try await client.upload(Reference.blockingUpload, Empty()) { _ in try await Task.sleep(for: .seconds(60)) } },
                {
                    try await client.subscribe(Reference.blockingSubscription, Empty()) { updates in
                        for try await _ in updates {}
                    }
                },
                {
                    try await client.stream(Reference.blockingStream, Empty()) { _, responses in
                        for try await _ in responses {}
                    }
                },
            ]
            for call in calls {
                let task = Task { try await call() }
                try await waitUntil("the call to reach the server") { server.openStreamCount == 1 }
                task.cancel()
                let result = await task.result
                #expect(throws: (any Error).self) { try result.get() }
                try await waitUntil("the server to see the cancel") { server.openStreamCount == 0 }
            }
            // The session is healthy afterwards.
            #expect(try await client.rpc(Reference.add, NumberInit(n: 1)).get().result == 1)
        }
    }

    @Test(arguments: ClientSetup.all)
    func explicitCancelEndsTheCallAndReachesTheServer(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            let error = try await client.stream(Reference.blockingStream, Empty()) { _, responses in
                try await waitUntil("the stream to reach the server") { server.openStreamCount == 1 }
                responses.cancel()
                responses.cancel()
                var iterator = responses.makeAsyncIterator()
                return await #expect(throws: RiverError.self) { _ = try await iterator.next() }
            }
            #expect(error?.code == .cancel)
            try await waitUntil("the server to see the cancel") { server.openStreamCount == 0 }
        }
    }

    @Test(arguments: ClientSetup.all)
    func cancellingAfterCompletionSendsNothing(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            try await client.stream(Reference.echo, Empty()) { writer, responses in
                try await writer.write(EchoInput(msg: "x"))
                try await writer.finish()
                for try await _ in responses {}
                let before = client.transport.nextSeq
                writer.cancel()
                responses.cancel()
                #expect(client.transport.nextSeq == before, "no CANCEL after both sides closed")
            }
        }
    }

    @Test(arguments: ClientSetup.all)
    func deadlineCancelsTheCall(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            let error = await #expect(throws: RiverError.self) {
                _ = try await client.rpc(Reference.blockingRpc, Empty(), options: CallOptions(timeout: .milliseconds(100)))
            }
            #expect(error?.code == .deadlineExceeded)
            try await waitUntil("the server to see the cancel") { server.openStreamCount == 0 }
        }
    }

    @Test(arguments: ClientSetup.all)
    func ordering(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            for n in 0..<100 { _ = try await client.rpc(Reference.orderingAdd, NumberInit(n: Double(n))) }
            #expect(try await client.rpc(Reference.orderingGetAll, Empty()).get().msgs == (0..<100).map(Double.init))
        }
    }

    @Test(arguments: ClientSetup.all)
    func invalidRequestsAreProtocolErrors(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let missing = RPCProcedure<Empty, Empty, RiverServiceError>(service: "nope", procedure: "missing")
            let error = await #expect(throws: RiverError.self) { _ = try await client.rpc(missing, Empty()) }
            #expect(error?.code == .invalidRequest)
            #expect(error?.message == "couldn't find service nope")
            let badInit = RPCProcedure<RiverValue, ResultOutput, RiverServiceError>(service: "test", procedure: "add")
            let initError = await #expect(throws: RiverError.self) { _ = try await client.rpc(badInit, ["n": "x"]) }
            #expect(initError?.code == .invalidRequest)
            #expect(initError?.extras == nil)
            let badData = StreamProcedure<Empty, RiverValue, EchoOutput, RiverServiceError>(service: "test", procedure: "echo")
            let dataError = try await client.stream(badData, Empty()) { writer, responses in
                try await writer.write(["msg": 42])
                var iterator = responses.makeAsyncIterator()
                return await #expect(throws: RiverError.self) { _ = try await iterator.next() }
            }
            #expect(dataError?.code == .invalidRequest)
            #expect(dataError?.extras?["totalErrors"] == 1)
        }
    }

    @Test(arguments: ClientSetup.all)
    func responseOfTheWrongShapeIsADecodingError(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let wrong = RPCProcedure<NumberInit, StringResult, RiverServiceError>(service: "test", procedure: "add")
            let error = await #expect(throws: RiverError.self) { _ = try await client.rpc(wrong, NumberInit(n: 1)) }
            let after = try await client.rpc(Reference.add, NumberInit(n: 1)).get()
            #expect(error?.code == .decodingFailure)
            #expect(after.result == 2)
        }
    }

    @Test(arguments: ClientSetup.all)
    func binaryPayloads(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            let bytes: [UInt8] = [0, 1, 2, 255]
            let reply = try await client.rpc(Reference.echoBinary, ["data": .bytes(bytes)]).get()
            #expect(reply["data"] == .bytes(bytes))
            #expect(reply["length"]?.int64Value == 4)
        }
    }

    /// A graceful shutdown waits for the calls in flight; if they end because the session is
    /// lost, the transport must still close.
    @Test(arguments: ClientSetup.all)
    func drainingTransportClosesWhenALostSessionEndsItsLastCall(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            let ended = try await client.subscribe(Reference.value, Empty()) { updates in
                var iterator = updates.makeAsyncIterator()
                _ = try await iterator.next()  // the subscription is open on the server
                client.transport.beginDraining()
                #expect(!client.transport.isClosed)
                client.hardDisconnect()  // destroys the session: the subscription fails
                do {
                    while try await iterator.next() != nil {}
                    return RiverError.Code.cancel
                } catch let error as RiverError {
                    return error.code
                }
            }
            #expect(ended == .unexpectedDisconnect)
            try await waitUntil("the drained transport to close") { client.transport.isClosed }
            _ = server
        }
    }

    @Test(arguments: ClientSetup.all)
    func endedCallsLeaveNoRegistrationBehind(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            // Both sides closed: rpc, subscription closed by the server, stream and upload.
            _ = try await client.rpc(Reference.add, NumberInit(n: 1)).get()
            _ = try await client.subscribe(Reference.immediateSubscription, Empty()) { updates in
                for try await _ in updates {}
            }
            _ = try await client.stream(Reference.echo, Empty()) { writer, responses in
                try await writer.write(EchoInput(msg: "a"))
                try await writer.finish()
                for try await _ in responses {}
            }
            _ = try await client.upload(Reference.addMultiple, Empty()) { writer in
                try await writer.write(NumberInit(n: 1))
            }
            // Cancelled by the server, and by the client.
            _ = try? await client.upload(Reference.cancellableAdd, Empty()) { writer in
                try await writer.write(NumberInit(n: 11))
                for _ in 0..<1000 { try await writer.write(NumberInit(n: 1)) }
            }
            _ = try await client.subscribe(Reference.value, Empty()) { updates in
                var iterator = updates.makeAsyncIterator()
                _ = try await iterator.next()
            }
            #expect(client.transport.registeredStreamCount == 0)
            try await waitUntil("the server to end every stream") { server.openStreamCount == 0 }
        }
    }
}

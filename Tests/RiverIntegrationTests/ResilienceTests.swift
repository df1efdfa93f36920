import River
import RiverTesting
import RiverTestServer
import Synchronization
import Testing

/// Fast timings so that reconnects, watchdogs and grace periods happen within a test.
let fastServerTimings = RiverTestServer.Timings(
    heartbeatInterval: .milliseconds(200), heartbeatsUntilDead: 3,
    sessionDisconnectGrace: .seconds(3), handshakeTimeout: .milliseconds(500))

func fastClient(_ configuration: inout RiverClient.Configuration) {
    configuration.session.heartbeatInterval = .milliseconds(200)
    configuration.session.heartbeatsUntilDead = 3
    configuration.session.handshakeTimeout = .milliseconds(300)
    configuration.session.sessionDisconnectGrace = .seconds(2)
    configuration.session.backoff.baseInterval = .milliseconds(20)
    configuration.session.backoff.maxJitter = .milliseconds(10)
}

/// Connection loss, server restarts, watchdogs, grace periods, handshake metadata.
///
/// Serialized: these tests depend on timers firing close to schedule, so they do not compete
/// with each other for the two cores CI has.
@Suite("Session resilience", .serialized, .timeLimit(.minutes(2)))
struct ResilienceTests {
    /// Patient timings: the connections are cut by hand, so no watchdog, handshake timeout or
    /// grace period may end the session on a loaded machine (it would fail the calls).
    @Test(arguments: ClientSetup.all)
    func transparentReconnectLosesAndDuplicatesNothing(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            let events = client.events()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for stream in 0..<4 {
                    group.addTask {
                        let echoed = try await client.stream(Reference.echo, Empty()) { writer, responses in
                            var iterator = responses.makeAsyncIterator()
                            var echoed: [String] = []
                            for i in 0..<60 {
                                try await writer.write(EchoInput(msg: "\(stream)-\(i)"))
                                if let next = try await iterator.next() { echoed.append(try next.get().response) }
                            }
                            try await writer.finish()
                            while let next = try await iterator.next() { echoed.append(try next.get().response) }
                            return echoed
                        }
                        #expect(echoed == (0..<60).map { "\(stream)-\($0)" })
                    }
                }
                group.addTask {
                    for n in 0..<300 { _ = try await client.rpc(Reference.orderingAdd, NumberInit(n: Double(n))) }
                }
                // Cut the connection a few times while the work runs.
                for _ in 0..<3 {
                    _ = try await waitForEvent(events) { if case .connectionStatus(.connected) = $0 { true } else { false } }
                    try await waitUntil("the server to see traffic") { server.openStreamCount > 0 }
                    server.dropAllConnections()
                }
                try await group.waitForAll()
            }
            let all = try await client.rpc(Reference.orderingGetAll, Empty()).get().msgs
            #expect(all == (0..<300).map(Double.init), "every value exactly once, in order")
        }
    }

    @Test(arguments: ClientSetup.all)
    func watchdogDetectsABlackholedServer(setup: ClientSetup) async throws {
        try await withClient(setup, timings: fastServerTimings, configure: fastClient) { client, server in
            let events = client.events()
            _ = try await client.rpc(Reference.add, NumberInit(n: 1))
            server.setBlackholed(true)
            let lost = try await waitForEvent(events) {
                if case .connectionStatus(.disconnected(let reason)) = $0 { reason.contains("heartbeat") } else { false }
            }
            #expect(lost != .connectionStatus(.connecting(attempt: 0)))
            server.setBlackholed(false)
            let result = try await client.rpc(Reference.add, NumberInit(n: 1)).get()
            #expect(result.result == 2, "the same session (and server state) carries on")
        }
    }

    @Test(arguments: ClientSetup.all)
    func serverRestartFailsInFlightCallsThenANewSessionWorks(setup: ClientSetup) async throws {
        try await withClient(setup, timings: fastServerTimings, configure: fastClient) { client, server in
            let events = client.events()
            _ = try await client.rpc(Reference.add, NumberInit(n: 5))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let error = await #expect(throws: RiverError.self) { _ = try await client.rpc(Reference.blockingRpc, Empty()) }
                    #expect(error?.code == .unexpectedDisconnect)
                    #expect(error?.cause?.kind == .serverRestarted)
                    #expect(error?.cause?.handshakeCode == .sessionStateMismatch)
                    #expect(error?.message.hasPrefix("lost the connection to SERVER: serverRestarted") == true)
                }
                try await waitUntil("the blocking rpc to reach the server") { server.openStreamCount == 1 }
                server.restart()
                try await group.waitForAll()
            }
            _ = try await waitForEvent(events) { if case .sessionStatus(.destroyed) = $0 { true } else { false } }
            let fresh = try await client.rpc(Reference.add, NumberInit(n: 1)).get()
            #expect(fresh.result == 1, "the restarted server starts from zero")
        }
    }

    @Test(arguments: ClientSetup.all)
    func graceExpiryFailsEveryKindOfCall(setup: ClientSetup) async throws {
        try await withClient(setup, timings: fastServerTimings, configure: {
            fastClient(&$0)
            $0.session.sessionDisconnectGrace = .milliseconds(500)
        }) { client, server in
            try await withThrowingTaskGroup(of: RiverError?.self) { group in
                group.addTask { await #expect(throws: RiverError.self) { _ = try await client.rpc(Reference.blockingRpc, Empty()) } }
                group.addTask {
                    await #expect(throws: RiverError.self) {
                        // A writer that keeps writing learns of the lost session at its next write.
                        _ = try await client.upload(Reference.blockingUpload, Empty()) { writer in
                            while true {
                                try await writer.write(Empty())
                                try await Task.sleep(for: .milliseconds(20))
                            }
                        }
                    }
                }
                group.addTask {
                    await #expect(throws: RiverError.self) {
                        try await client.subscribe(Reference.blockingSubscription, Empty()) { updates in for try await _ in updates {} }
                    }
                }
                group.addTask {
                    await #expect(throws: RiverError.self) {
                        try await client.stream(Reference.blockingStream, Empty()) { _, responses in for try await _ in responses {} }
                    }
                }
                try await waitUntil("all four calls to reach the server") { server.openStreamCount == 4 }
                // The server goes silent and the connection is cut: reconnects cannot complete.
                server.setBlackholed(true)
                server.dropAllConnections()
                // Ended by the grace period running out (not by a later watchdog or time limit).
                for try await error in group {
                    #expect(error?.code == .unexpectedDisconnect)
                    #expect(error?.cause?.kind == .graceExpired, "\(String(describing: error))")
                }
            }
        }
    }

    @Test(arguments: ClientSetup.all)
    func handshakeMetadataIsSentAndRebuiltOnEveryAttempt(setup: ClientSetup) async throws {
        let calls = Atomic<Int>(0)
        try await withClient(setup, mode: .handshake, timings: fastServerTimings, configure: {
            fastClient(&$0)
            $0.handshakeMetadata = {
                calls.add(1, ordering: .relaxed)
                return ["token": "valid-token"]
            }
        }) { client, server in
            let reply = try await client.rpc(Reference.handshakeEcho, EchoInput(msg: "hi")).get()
            #expect(reply.response == "hi")
            let before = calls.load(ordering: .relaxed)
            #expect(before >= 1)
            server.dropAllConnections()
            let again = try await client.rpc(Reference.handshakeEcho, EchoInput(msg: "again")).get()
            #expect(again.response == "again")
            #expect(calls.load(ordering: .relaxed) > before, "metadata is built again for the reconnect")
        }
    }

    @Test(arguments: ClientSetup.all)
    func prefetchedHandshakeMetadataIsUsed(setup: ClientSetup) async throws {
        let calls = Atomic<Int>(0)
        try await withClient(setup, mode: .handshake, configure: {
            $0.prefetchHandshakeMetadata = true
            $0.handshakeMetadata = {
                calls.add(1, ordering: .relaxed)
                return ["token": "valid-token"]
            }
        }) { client, server in
            let reply = try await client.rpc(Reference.handshakeEcho, EchoInput(msg: "early")).get()
            #expect(reply.response == "early")
            #expect(calls.load(ordering: .relaxed) == 1, "built once, while dialing")
            server.dropAllConnections()
            let again = try await client.rpc(Reference.handshakeEcho, EchoInput(msg: "again")).get()
            #expect(again.response == "again")
            #expect(calls.load(ordering: .relaxed) >= 2)
        }
    }

    @Test(arguments: ClientSetup.all)
    func invalidHandshakeMetadataIsRejected(setup: ClientSetup) async throws {
        for metadata: RiverValue? in [["token": "bad-token"], nil] {
            try await withClient(setup, mode: .handshake, configure: { $0.handshakeMetadata = { metadata } }) { client, _ in
                let events = client.events()
                let error = await #expect(throws: RiverError.self) {
                    _ = try await client.rpc(Reference.handshakeEcho, EchoInput(msg: "hi"))
                }
                #expect(error?.code == .unexpectedDisconnect)
                let failure = try await waitForEvent(events) { if case .protocolError = $0 { true } else { false } }
                let expected: HandshakeErrorCode = metadata == nil ? .malformedHandshakeMeta : .rejectedByCustomHandler
                #expect(error?.cause?.kind == .handshakeRejected)
                #expect(error?.cause?.handshakeCode == expected)
                #expect(error?.message.hasPrefix("could not connect to HANDSHAKE_SERVER: handshakeRejected") == true)
                #expect(failure == .protocolError(ProtocolErrorEvent(
                    kind: .handshakeFailed(code: expected),
                    message: (failure.protocolErrorMessage ?? ""))))
            }
        }
    }

    @Test(arguments: ClientSetup.all)
    func rehandshakeSendsFreshMetadataAndKeepsTheSession(setup: ClientSetup) async throws {
        let calls = Atomic<Int>(0)
        try await withClient(setup, mode: .handshake, configure: {
            $0.handshakeMetadata = {
                calls.add(1, ordering: .relaxed)
                return ["token": "valid-token"]
            }
        }) { client, server in
            _ = try await client.rpc(Reference.handshakeEcho, EchoInput(msg: "one")).get()
            let session = client.transport.sessionID
            #expect(server.requestRehandshake() == 1)
            try await waitUntil("the rehandshake metadata to be built") { calls.load(ordering: .relaxed) == 2 }
            let reply = try await client.rpc(Reference.handshakeEcho, EchoInput(msg: "two")).get()
            #expect(reply.response == "two")
            #expect(client.transport.sessionID == session)
        }
    }

    @Test(arguments: ClientSetup.websocket)
    func largePayloadsRoundTrip(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            // A cheap pattern (a per-byte random fill is slow in debug builds and starves
            // the other tests of CPU), with every byte value present.
            var bytes = [UInt8](repeating: 0, count: 8 << 20)
            for i in stride(from: 0, to: bytes.count, by: 4096) { bytes[i] = UInt8(truncatingIfNeeded: i >> 12) }
            let reply = try await client.rpc(Reference.echoBinary, ["data": .bytes(bytes)]).get()
            #expect(reply["data"] == .bytes(bytes))
            #expect(reply["length"]?.int64Value == Int64(8 << 20))
        }
    }

    @Test(arguments: ClientSetup.all)
    func oversizedRequestFailsOnlyItsCall(setup: ClientSetup) async throws {
        try await withClient(setup, configure: { $0.session.maxMessageBytes = 4096 }) { client, _ in
            let big = RPCProcedure<RiverValue, RiverValue, RiverServiceError>(service: "test", procedure: "add")
            let error = await #expect(throws: RiverError.self) {
                _ = try await client.rpc(big, ["n": .string(String(repeating: "x", count: 10_000))])
            }
            let after = try await client.rpc(Reference.add, NumberInit(n: 2)).get()
            #expect(error?.code == .payloadTooLarge)
            #expect(after.result == 2)
        }
    }

    @Test(arguments: ClientSetup.all)
    func writersWaitForSendBufferRoom(setup: ClientSetup) async throws {
        try await withClient(setup, timings: fastServerTimings, configure: {
            fastClient(&$0)
            $0.session.maxBufferedMessages = 4
        }) { client, server in
            _ = try await client.rpc(Reference.add, NumberInit(n: 0))
            let result = try await client.upload(Reference.addMultiple, Empty()) { writer in
                server.setBlackholed(true)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for _ in 0..<20 { try await writer.write(NumberInit(n: 1)) }
                    }
                    try await waitUntil("a writer to wait for room") { client.transport.writersWaitingForRoom == 1 }
                    server.setBlackholed(false)
                    try await group.waitForAll()
                }
            }
            #expect(try result.get().result == 20)
        }
    }
}

extension RiverEvent {
    var protocolErrorMessage: String? {
        if case .protocolError(let error) = self { error.message } else { nil }
    }
}

/// Nothing waits past its call's end: writers waiting for room, calls waiting to open, and
/// upload closures that do not write.
@Suite("Call ends wake their waiters", .timeLimit(.minutes(1)))
struct CallEndWakeupTests {
    /// A client whose send buffer holds 4 messages, against a server that stops acknowledging.
    func withFullBuffer(
        _ body: @escaping (RiverClient, RiverTestServer) async throws -> Void
    ) async throws {
        try await withClient(ClientSetup.all[0], configure: { $0.session.maxBufferedMessages = 4 }) { client, server in
            _ = try await client.rpc(Reference.add, NumberInit(n: 0))
            server.setBlackholed(true)
            try await body(client, server)
        }
    }

    @Test("a writer waiting for room wakes when its call's deadline passes, not when the session ends")
    func roomWaiterWakesOnDeadline() async throws {
        try await withFullBuffer { client, _ in
            let session = client.transport.sessionID
            let error = await #expect(throws: RiverError.self) {
                _ = try await client.upload(Reference.addMultiple, Empty(), options: CallOptions(timeout: .milliseconds(300))) {
                    writer in
                    for _ in 0..<20 { try await writer.write(NumberInit(n: 1)) }
                }
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(client.transport.writersWaitingForRoom == 0)
            #expect(client.transport.sessionID == session, "ended by its deadline while the session lives")
        }
    }

    @Test("the deadline covers opening a call that waits for send-buffer room")
    func deadlineCoversOpening() async throws {
        try await withFullBuffer { client, _ in
            let session = client.transport.sessionID
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    _ = try? await client.upload(Reference.addMultiple, Empty()) { writer in
                        for _ in 0..<20 { try await writer.write(NumberInit(n: 1)) }
                    }
                }
                try await waitUntil("the buffer to fill") { client.transport.writersWaitingForRoom == 1 }
                let error = await #expect(throws: RiverError.self) {
                    _ = try await client.rpc(Reference.add, NumberInit(n: 1), options: CallOptions(timeout: .milliseconds(200)))
                }
                #expect(error?.code == .deadlineExceeded)
                #expect(client.transport.sessionID == session)
                #expect(client.transport.writersWaitingForRoom == 1, "only the upload still waits")
                group.cancelAll()
            }
        }
    }

    @Test("an upload closure that never writes learns of a lost session through writer.ended()")
    func uploadThatNeverWritesLearnsOfTheLostSession() async throws {
        try await withClient(ClientSetup.all[0]) { client, server in
            async let outcome: RiverError? = {
                do {
                    _ = try await client.upload(Reference.addMultiple, Empty()) { writer in
                        if let error = await writer.ended() { throw error }
                    }
                    return nil
                } catch { return error as? RiverError }
            }()
            try await waitUntil("the upload to reach the server") { server.openStreamCount == 1 }
            client.hardDisconnect()
            let error = await outcome
            #expect(error?.code == .unexpectedDisconnect)
            #expect(error?.cause?.kind == .hardDisconnect)
        }
    }
}

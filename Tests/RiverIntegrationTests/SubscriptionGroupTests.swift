import River
import RiverTesting
import RiverTestServer
import Testing

/// Subscriptions of different procedures whose results are read as raw values, so members of
/// different procedures can share one group.
private enum Raw {
    static let value = SubscriptionProcedure<Empty, RiverValue, RiverServiceError>(service: "subscribable", procedure: "value")
    static let immediate = SubscriptionProcedure<Empty, RiverValue, RiverServiceError>(
        service: "cancel", procedure: "immediateSubscription")
    static let blocking = SubscriptionProcedure<Empty, RiverValue, RiverServiceError>(service: "cancel", procedure: "blockingSubscription")
    static let unknown = SubscriptionProcedure<Empty, RiverValue, RiverServiceError>(service: "subscribable", procedure: "noSuchProcedure")
}

/// One event of a group, flattened for comparison.
private enum Seen: Hashable, CustomStringConvertible {
    /// A result: `count=N` for a count, else the value's description.
    case result(String, String)
    case serviceError(String, String)
    case finished(String)
    case failed(String, String)

    init(_ event: SubscriptionGroup<String, RiverValue, RiverServiceError>.Event) {
        switch event {
        case .result(let key, .success(let value)):
            if let count = value["count"]?.doubleValue { self = .result(key, "count=\(Int(count))") } else { self = .result(key, "\(value)") }
        case .result(let key, .failure(let error)): self = .serviceError(key, error.code)
        case .finished(let key): self = .finished(key)
        case .failed(let key, let error): self = .failed(key, (error as? RiverError)?.code.rawValue ?? "\(error)")
        }
    }

    var key: String {
        switch self {
        case .result(let key, _), .serviceError(let key, _), .finished(let key), .failed(let key, _): key
        }
    }

    var description: String {
        switch self {
        case .result(let key, let value): "\(key): \(value)"
        case .serviceError(let key, let code): "\(key): service error \(code)"
        case .finished(let key): "\(key): finished"
        case .failed(let key, let code): "\(key): failed \(code)"
        }
    }
}

private typealias Group = SubscriptionGroup<String, RiverValue, RiverServiceError>

/// Reads events until `count` have come.
private func read(_ count: Int, from group: Group) async -> [Seen] {
    var seen: [Seen] = []
    var iterator = group.events.makeAsyncIterator()
    while seen.count < count, let event = await iterator.next() { seen.append(Seen(event)) }
    return seen
}

private func count(_ n: Int) -> String { "count=\(n)" }
private let done = "\(["done": true] as RiverValue)"

@Suite("Subscription groups", .timeLimit(.minutes(2)))
struct SubscriptionGroupTests {
    @Test(arguments: ClientSetup.all)
    func resultsAreRoutedToTheirKeysAndAFailureEndsOnlyItsMember(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            try await client.withSubscriptionGroup(keyedBy: String.self, for: Raw.value) { group in
                try await group.add("value", Raw.value, Empty())
                try await group.add("immediate", Raw.immediate, Empty())
                try await group.add("unknown", Raw.unknown, Empty())
                try await group.add("blocking", Raw.blocking, Empty())
                let first = await read(4, from: group)
                #expect(Set(first) == [
                    .result("value", count(0)), .result("immediate", done), .finished("immediate"),
                    .failed("unknown", RiverError.Code.invalidRequest.rawValue),
                ])
                #expect(first.filter { $0.key == "immediate" } == [.result("immediate", done), .finished("immediate")])
                #expect(group.count == 2)
                #expect(group.contains("value") && group.contains("blocking"))

                _ = try await client.rpc(Reference.subscribableAdd, NumberInit(n: 5)).get()
                #expect(await read(1, from: group) == [.result("value", count(5))])
            }
            try await waitUntil("the server to see the members cancelled") { server.openStreamCount == 0 }
        }
    }

    @Test(arguments: ClientSetup.all)
    func cancellingAMemberSendsCancelAndStopsItsEvents(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            let seen = try await client.withSubscriptionGroup(keyedBy: String.self, for: Raw.value) { group in
                try await group.add("a", Raw.value, Empty())
                try await group.add("b", Raw.value, Empty())
                var seen = await read(2, from: group)
                group.cancel("a")
                #expect(!group.contains("a"))
                try await waitUntil("the server to see the cancel") { server.openStreamCount == 1 }
                _ = try await client.rpc(Reference.subscribableAdd, NumberInit(n: 1)).get()
                seen += await read(1, from: group)
                group.cancel("b")
                // The group is empty: iteration ends with whatever was still queued.
                for await event in group.events { seen.append(Seen(event)) }
                return seen
            }
            #expect(Set(seen) == [.result("a", count(0)), .result("b", count(0)), .result("b", count(1))])
            #expect(seen.count == 3, "nothing of a cancelled member is delivered: \(seen)")
            try await waitUntil("the server to see both cancels") { server.openStreamCount == 0 }
        }
    }

    @Test(arguments: ClientSetup.all)
    func leavingTheScopeCancelsEveryMemberAndRefusesNewOnes(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            let escaped = try await client.withSubscriptionGroup(keyedBy: String.self, for: Raw.blocking) { group in
                for key in ["a", "b", "c"] { try await group.add(key, Raw.blocking, Empty()) }
                try await waitUntil("the server to see three subscriptions") { server.openStreamCount == 3 }
                return group
            }
            try await waitUntil("the server to see every member cancelled") { server.openStreamCount == 0 }
            #expect(escaped.count == 0)
            let error = await #expect(throws: RiverError.self) { try await escaped.add("d", Raw.blocking, Empty()) }
            #expect(error?.code == .cancel)
            #expect(server.openStreamCount == 0)
        }
    }

    @Test(arguments: ClientSetup.all)
    func aThrowingBodyCancelsEveryMember(setup: ClientSetup) async throws {
        struct Stop: Error {}
        try await withClient(setup) { client, server in
            await #expect(throws: Stop.self) {
                try await client.withSubscriptionGroup(keyedBy: Int.self, for: Raw.blocking) { group in
                    for key in 0..<3 { try await group.add(key, Raw.blocking, Empty()) }
                    try await waitUntil("the server to see three subscriptions") { server.openStreamCount == 3 }
                    throw Stop()
                }
            }
            try await waitUntil("the server to see every member cancelled") { server.openStreamCount == 0 }
        }
    }

    @Test(arguments: ClientSetup.all)
    func membersSurviveATransparentReconnect(setup: ClientSetup) async throws {
        try await withClient(setup) { client, server in
            let events = client.events()
            try await client.withSubscriptionGroup(keyedBy: String.self, for: Raw.value) { group in
                try await group.add("a", Raw.value, Empty())
                try await group.add("b", Raw.value, Empty())
                #expect(Set(await read(2, from: group)) == [.result("a", count(0)), .result("b", count(0))])
                server.dropAllConnections()
                _ = try await waitForEvent(events) { if case .connectionStatus(.connected) = $0 { true } else { false } }
                _ = try await client.rpc(Reference.subscribableAdd, NumberInit(n: 2)).get()
                #expect(Set(await read(2, from: group)) == [.result("a", count(2)), .result("b", count(2))])
                #expect(group.count == 2)
            }
        }
    }

    @Test(arguments: ClientSetup.all)
    func aLostSessionFailsEachMemberAndTheGroupGoesOn(setup: ClientSetup) async throws {
        try await withClient(setup) { client, _ in
            try await client.withSubscriptionGroup(keyedBy: String.self, for: Raw.value) { group in
                try await group.add("a", Raw.value, Empty())
                try await group.add("b", Raw.value, Empty())
                _ = await read(2, from: group)
                client.hardDisconnect()
                let failed = await read(2, from: group)
                #expect(Set(failed) == [
                    .failed("a", RiverError.Code.unexpectedDisconnect.rawValue),
                    .failed("b", RiverError.Code.unexpectedDisconnect.rawValue),
                ])
                #expect(group.count == 0)
                try await group.add("a", Raw.value, Empty())
                guard case .result("a", _)? = await read(1, from: group).first else {
                    Issue.record("no result after re-adding a")
                    return
                }
            }
        }
    }

    @Test
    func aKeyInUseIsRefusedAndFreedWhenItsMemberEnds() async throws {
        try await withClient(ClientSetup.all[0]) { client, _ in
            try await client.withSubscriptionGroup(keyedBy: String.self, for: Raw.value) { group in
                try await group.add("k", Raw.immediate, Empty())
                let error = await #expect(throws: RiverError.self) { try await group.add("k", Raw.value, Empty()) }
                #expect(error?.code == .duplicateKey)
                #expect(await read(2, from: group) == [.result("k", done), .finished("k")])
                try await group.add("k", Raw.value, Empty())
                #expect(await read(1, from: group) == [.result("k", count(0))])
            }
        }
    }

    @Test
    func iterationEndsWhenTheGroupIsEmptyOrTheReaderIsCancelled() async throws {
        try await withClient(ClientSetup.all[0]) { client, server in
            try await client.withSubscriptionGroup(keyedBy: String.self, for: Raw.blocking) { group in
                var empty = group.events.makeAsyncIterator()
                #expect(await empty.next() == nil)
                try await group.add("k", Raw.blocking, Empty())
                try await waitUntil("the server to see the member") { server.openStreamCount == 1 }
                let next = await withTaskGroup(of: Seen?.self) { readers in
                    readers.addTask {
                        var iterator = group.events.makeAsyncIterator()
                        return await iterator.next().map(Seen.init)
                    }
                    readers.cancelAll()
                    return await readers.next() ?? nil
                }
                #expect(next == nil)
                #expect(group.count == 1, "cancelling the reader leaves the members")
            }
        }
    }

    @Test
    func aMembersDeadlineBoundsOnlyItsOpening() async throws {
        let clock = ManualRiverClock()
        try await withClient(ClientSetup.all[0], configure: { $0.clock = clock }) { client, _ in
            try await client.withSubscriptionGroup(keyedBy: String.self, for: Raw.value) { group in
                try await group.add("k", Raw.value, Empty(), options: CallOptions(timeout: .seconds(1)))
                #expect(await read(1, from: group) == [.result("k", count(0))])
                clock.advance(by: .seconds(2))
                _ = try await client.rpc(Reference.subscribableAdd, NumberInit(n: 1)).get()
                #expect(await read(1, from: group) == [.result("k", count(1))])
                #expect(group.count == 1)
            }
        }
    }
}

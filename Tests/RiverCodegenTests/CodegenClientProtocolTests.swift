import Foundation
import River
import Synchronization
import RiverReferenceClient
import Testing

typealias MixedUsers = CorpusMixed.Users
typealias MixedChat = CorpusMixed.Chat

/// Application code under test: it depends on the generated protocol, not on `Client`.
private func displayName(of id: String, users: some MixedUsers.ClientProtocol) async throws -> String {
    switch try await users.get(.init(id: id)) {
    case .success(let user): return user.name
    case .failure(.notFound): return "(unknown user \(id))"
    case .failure(let other): throw other
    }
}

/// Application code that updates a user and reports conflicts by their extras.
private func rename(_ id: String, to name: String, users: some MixedUsers.ClientProtocol) async throws -> String {
    switch try await users.update(.init(id: id, name: name), options: CallOptions(timeout: .seconds(5))) {
    case .success: return "renamed"
    case .failure(.conflict(let conflict)): return "conflict at version \(conflict.extras?.version ?? -1)"
    case .failure(let other): return "failed: \(other.code)"
    }
}

/// A fake of the `users` service: an in-memory table, and a record of the calls.
private struct FakeUsers: MixedUsers.ClientProtocol {
    var table: [String: MixedUsers.Get.Output]
    let calls = CallLog()

    func get(_ initPayload: MixedUsers.Get.Init, options: CallOptions) async throws -> Result<MixedUsers.Get.Output, MixedUsers.Get.Failure> {
        calls.append("get \(initPayload.id)")
        guard let user = table[initPayload.id] else {
            return .failure(.notFound(.init(message: "no user \(initPayload.id)", extras: .init(id: initPayload.id))))
        }
        return .success(user)
    }

    func search(_ initPayload: MixedUsers.Search.Init, options: CallOptions) async throws -> Result<MixedUsers.Search.Output, MixedUsers.Search.Failure> {
        calls.append("search \(initPayload.query)")
        return .success([])
    }

    func update(_ initPayload: MixedUsers.Update.Init, options: CallOptions) async throws -> Result<MixedUsers.Update.Output, MixedUsers.Update.Failure> {
        calls.append("update \(initPayload.id) timeout \(options.timeout.map { "\($0)" } ?? "none")")
        return .failure(.conflict(.init(message: "stale", extras: .init(version: 7))))
    }
}

/// A fake of the `chat` service whose streaming calls fail the way a lost session does, to test
/// an application's error path without a server.
private struct FailingChat: MixedChat.ClientProtocol {
    struct Disconnected: Error {}

    func events<Result: Sendable>(
        _ initPayload: MixedChat.Events.Init, options: CallOptions,
        body: (ResponseStream<MixedChat.Events.Output, MixedChat.Events.Failure>) async throws -> Result
    ) async throws -> Result {
        throw Disconnected()
    }

    func converse<Result: Sendable>(
        _ initPayload: MixedChat.Converse.Init, options: CallOptions,
        body: (RequestWriter<MixedChat.Converse.Input>, ResponseStream<MixedChat.Converse.Output, MixedChat.Converse.Failure>) async throws -> Result
    ) async throws -> Result {
        throw Disconnected()
    }
}

/// The fake of codegen/README.md, verbatim.
private enum ReadmeExample {
    typealias Fallible = ReferenceServices.Fallible

    struct FakeFallible: Fallible.ClientProtocol {
        struct Offline: Error {}

        func divide(_ initPayload: Fallible.Divide.Init, options: CallOptions) async throws -> Result<Fallible.Divide.Output, Fallible.Divide.Failure> {
            initPayload.b == 0 ? .failure(.divByZero(.init(message: "no"))) : .success(.init(result: initPayload.a / initPayload.b))
        }

        func echo<Result: Sendable>(
            _ initPayload: Fallible.Echo.Init, options: CallOptions,
            body: (RequestWriter<Fallible.Echo.Input>, ResponseStream<Fallible.Echo.Output, Fallible.Echo.Failure>) async throws -> Result
        ) async throws -> Result {
            throw Offline()
        }
    }

    static func run() async throws -> Double {
        let fake = FakeFallible()
        let quotient = try await fake.divide(.init(a: 6, b: 3)).get().result   // 2
        return quotient
    }
}

/// Calls a fake records, shared by copies of the fake.
private final class CallLog: Sendable {
    private let entries = Mutex<[String]>([])
    func append(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

/// Each generated service has a `ClientProtocol` that `Client` implements and that an
/// application's tests can implement with a fake.
@Suite struct CodegenClientProtocolTests {
    static let ada = MixedUsers.Get.Output(id: "1", name: "Ada", roles: [.admin], age: 36, createdAt: Date(timeIntervalSince1970: 0))

    @Test func aFakeStandsInForTheClient() async throws {
        let fake = FakeUsers(table: ["1": Self.ada])
        #expect(try await displayName(of: "1", users: fake) == "Ada")
        #expect(try await displayName(of: "2", users: fake) == "(unknown user 2)")
        #expect(try await rename("1", to: "Ada L.", users: fake) == "conflict at version 7")
        // The conveniences without `options` call the requirement with the default options.
        let found = try await fake.search(.init(query: "Ad")).get()
        #expect(found.isEmpty)
        #expect(fake.calls.all == ["get 1", "get 2", "update 1 timeout 5.0 seconds", "search Ad"])
    }

    @Test func theReadmeFakeWorks() async throws {
        #expect(try await ReadmeExample.run() == 2)
        let failure = try await ReadmeExample.FakeFallible().divide(.init(a: 1, b: 0))
        if case .failure(.divByZero(let error)) = failure { #expect(error.message == "no") } else { Issue.record("expected divByZero") }
    }

    @Test func streamingCallsCanBeFakedToo() async throws {
        let chat: any MixedChat.ClientProtocol = FailingChat()
        await #expect(throws: FailingChat.Disconnected.self) {
            try await chat.events(.init(room: "r")) { responses in
                for try await _ in responses {}
            }
        }
    }

    @Test func generatedClientsConformToTheirProtocols() {
        func conforms<T: MixedUsers.ClientProtocol>(_: T.Type) -> Bool { true }
        func conformsChat<T: MixedChat.ClientProtocol>(_: T.Type) -> Bool { true }
        func conformsTest<T: ReferenceServices.Test.ClientProtocol>(_: T.Type) -> Bool { true }
        #expect(conforms(MixedUsers.Client.self) && conformsChat(MixedChat.Client.self) && conformsTest(ReferenceServices.Test.Client.self))
    }
}

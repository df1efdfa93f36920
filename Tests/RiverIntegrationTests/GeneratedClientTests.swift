import Foundation
import River
import RiverReferenceClient
import RiverTestServer
import Testing

/// The river-codegen output for the reference schema (Tests/RiverReferenceClient), calling
/// every procedure of every service on the live test server.
@Suite("Generated reference client", .timeLimit(.minutes(1)))
struct GeneratedClientTests {
    typealias S = ReferenceServices

    @Test(arguments: ClientSetup.all)
    func testService(setup: ClientSetup) async throws {
        try await withClient(setup) { river, _ in
            let test = S.Test.Client(river)
            #expect(try await test.add(.init(n: 2)).get().result == 2)
            let echoed = try await test.echo(.init()) { writer, responses in
                try await writer.write(.init(msg: "a"))
                try await writer.write(.init(msg: "skip", ignore: true))
                try await writer.finish()
                var all: [String] = []
                for try await response in responses { all.append(try response.get().response) }
                return all
            }
            #expect(echoed == ["a"])
            let prefixed = try await test.echoWithPrefix(.init(prefix: "p")) { writer, responses in
                try await writer.write(.init(msg: "x"))
                try await writer.finish()
                var all: [String] = []
                for try await response in responses { all.append(try response.get().response) }
                return all
            }
            #expect(prefixed == ["p x"])
            let binary = try await test.echoBinary(.init(data: Data([0, 1, 2, 255]))).get()
            #expect(binary.data == Data([0, 1, 2, 255]))
            #expect(binary.length == 4)
            let tree = S.Test.EchoRecursive.RecursivePayload(
                value: "root", children: [.init(value: "leaf"), .init(value: "branch", children: [.init(value: "deep")])])
            #expect(try await test.echoRecursive(tree).get() == tree)
        }
    }

    @Test(arguments: ClientSetup.all)
    func orderingAndSubscribableServices(setup: ClientSetup) async throws {
        try await withClient(setup) { river, _ in
            let ordering = S.Ordering.Client(river)
            for n in [3.0, 1, 2] { _ = try await ordering.add(.init(n: n)).get() }
            #expect(try await ordering.getAll(.init()).get().msgs == [3, 1, 2])

            let subscribable = S.Subscribable.Client(river)
            let counts = try await subscribable.value(.init()) { updates in
                var iterator = updates.makeAsyncIterator()
                let first = try await iterator.next()?.get().count
                #expect(try await subscribable.add(.init(n: 4)).get().result == 4)
                let second = try await iterator.next()?.get().count
                return [first, second]
            }
            #expect(counts == [0, 4])
        }
    }

    @Test(arguments: ClientSetup.all)
    func fallibleServiceErrorsDecodeIntoTheGeneratedUnions(setup: ClientSetup) async throws {
        try await withClient(setup) { river, _ in
            let fallible = S.Fallible.Client(river)
            guard case .failure(.divByZero(let error)) = try await fallible.divide(.init(a: 1, b: 0)) else {
                Issue.record("expected DIV_BY_ZERO")
                return
            }
            #expect(error.message == "Cannot divide by zero")
            #expect(try await fallible.divide(.init(a: 9, b: 3)).get().result == 3)
            try await fallible.echo(.init()) { writer, responses in
                var iterator = responses.makeAsyncIterator()
                try await writer.write(.init(msg: "ok"))
                #expect(try await iterator.next()?.get().response == "ok")
                try await writer.write(.init(msg: "bad", throwResult: true))
                guard case .failure(.streamError)? = try await iterator.next() else {
                    Issue.record("expected STREAM_ERROR")
                    return
                }
                try await writer.write(.init(msg: "boom", throwError: true))
                let thrown = await #expect(throws: RiverError.self) { _ = try await iterator.next() }
                #expect(thrown?.code == .uncaughtError)
            }
        }
    }

    @Test(arguments: ClientSetup.all)
    func uploadableService(setup: ClientSetup) async throws {
        try await withClient(setup) { river, _ in
            let uploadable = S.Uploadable.Client(river)
            let sum = try await uploadable.addMultiple(.init()) { writer in
                for n in [1.0, 2, 3] { try await writer.write(.init(n: n)) }
            }
            #expect(try sum.get().result == 6)
            let prefixed = try await uploadable.addMultipleWithPrefix(.init(prefix: "total")) { writer in
                try await writer.write(.init(n: 4))
            }
            #expect(try prefixed.get().result == "total 4")
            let small = try await uploadable.cancellableAdd(.init()) { writer in
                try await writer.write(.init(n: 3))
            }
            #expect(try small.get().result == 3)
            let cancelled = await #expect(throws: RiverError.self) {
                _ = try await uploadable.cancellableAdd(.init()) { writer in
                    try await writer.write(.init(n: 7))
                    try await writer.write(.init(n: 7))
                    while true {
                        try await writer.write(.init(n: 1))
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }
            }
            #expect(cancelled?.code == .cancel)
        }
    }

    @Test(arguments: ClientSetup.all)
    func cancelService(setup: ClientSetup) async throws {
        try await withClient(setup) { river, server in
            let cancel = S.Cancel.Client(river)
            #expect(try await cancel.immediateRpc(.init()).get().done)
            let immediateStream = try await cancel.immediateStream(.init()) { writer, responses in
                try await writer.finish()
                var all: [Bool] = []
                for try await response in responses { all.append(try response.get().done) }
                return all
            }
            #expect(immediateStream == [true])
            let immediateUpload = try await cancel.immediateUpload(.init()) { _ in }
            #expect(try immediateUpload.get().done)
            let immediateSubscription = try await cancel.immediateSubscription(.init()) { updates in
                var all: [Bool] = []
                for try await update in updates { all.append(try update.get().done) }
                return all
            }
            #expect(immediateSubscription == [true])
            let counted = try await cancel.countedStream(.init(total: 5)) { writer, responses in
                try await writer.finish()
                var all: [Double] = []
                for try await response in responses { all.append(try response.get().i) }
                return all
            }
            #expect(counted == [0, 1, 2, 3, 4])

            let deadline = CallOptions(timeout: .milliseconds(50))
            await #expect(throws: RiverError.self) { _ = try await cancel.blockingRpc(.init(), options: deadline) }
            await #expect(throws: RiverError.self) {
                _ = try await cancel.blockingUpload(.init(), options: deadline) { _ in try await Task.sleep(for: .seconds(5)) }
            }
            await #expect(throws: RiverError.self) {
                try await cancel.blockingSubscription(.init(), options: deadline) { updates in for try await _ in updates {} }
            }
            await #expect(throws: RiverError.self) {
                try await cancel.blockingStream(.init(), options: deadline) { _, responses in for try await _ in responses {} }
            }
            try await waitUntil("the server to see every cancel") { server.openStreamCount == 0 }
        }
    }

    @Test(arguments: ClientSetup.all)
    func handshakeServiceWithGeneratedMetadata(setup: ClientSetup) async throws {
        let metadata = try RiverValueEncoder().encode(HandshakeServices.HandshakeMetadata(token: RiverTestServer.validToken))
        try await withClient(setup, mode: .handshake, configure: { $0.handshakeMetadata = { metadata } }) { river, _ in
            let test = HandshakeServices.Test.Client(river)
            let reply = try await test.echo(.init(msg: "hi")).get()
            #expect(reply.response == "hi")
        }
    }
}

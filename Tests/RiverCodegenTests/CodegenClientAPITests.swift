import River
import RiverReferenceClient
import Testing

/// Compile-time checks of the generated client API: each procedure kind is called the way an
/// application would. (Never run against a server here; the integration tests do that.)
func exerciseGeneratedClients(_ river: RiverClient) async throws {
    let test = ReferenceServices.Test.Client(river)
    switch try await test.add(.init(n: 1)) {
    case .success(let output): _ = output.result
    case .failure(let error): _ = error.code
    }
    let echoed: [String] = try await test.echoWithPrefix(.init(prefix: "p")) { requests, responses in
        try await requests.write(.init(msg: "hi"))
        try await requests.finish()
        var all: [String] = []
        for try await response in responses {
            if case .success(let output) = response { all.append(output.response) }
        }
        return all
    }
    _ = echoed

    let uploadable = ReferenceServices.Uploadable.Client(river)
    let sum = try await uploadable.cancellableAdd(.init()) { requests in
        try await requests.write(.init(n: 1))
    }
    if case .failure(.cancel(let cancel)) = sum { _ = cancel.message }

    let count = try await ReferenceServices.Subscribable.Client(river).value(.init()) { responses in
        var iterator = responses.makeAsyncIterator()
        return try await iterator.next()
    }
    _ = count

    let divided = try await ReferenceServices.Fallible.Client(river).divide(.init(a: 1, b: 0), options: CallOptions(timeout: .seconds(1)))
    if case .failure(.divByZero(let error)) = divided { _ = error.message }

    _ = try await HandshakeServices.Test.Client(river).echo(.init(msg: "m"))
    _ = try await CodegenCorpus.ErrorsAndKinds.Client(river).default(.init())
}

@Suite struct CodegenClientAPITests {
    @Test func generatedClientsAreSendableValues() {
        func requireSendable<T: Sendable>(_: T.Type) {}
        requireSendable(ReferenceServices.Test.Client.self)
        requireSendable(ReferenceServices.Test.EchoRecursive.Init.self)
        requireSendable(CodegenCorpus.Constructs.TreeNew.Node.self)
        requireSendable(ReferenceServices.Uploadable.CancellableAdd.Failure.self)
        #expect(ReferenceServices.Test.Echo.procedure.procedureName == "echo")
    }
}

import InMemoryLogging
import Logging
import River
import RiverReferenceClient
import RiverTesting
import RiverTestServer
import Synchronization
import Testing
import Tracing

@Suite("Interceptors", .timeLimit(.minutes(1)))
struct InterceptorTests {
    typealias Test = ReferenceServices.Test

    /// Runs `body` with a client of a fresh in-process test server.
    func withClient(
        interceptors: [any RiverClientInterceptor] = [],
        logger: Logger = RiverClient.silentLogger,
        _ body: (RiverClient, RiverTestServer) async throws -> Void
    ) async throws {
        let server = RiverTestServer(configuration: .init(codec: JSONCodec(), timings: .patient))
        try await server.withInMemoryConnector { connector in
            let configuration = RiverClient.Configuration(codec: JSONCodec(), interceptors: interceptors).patient()
            try await withRiverClient(connector: connector, configuration: configuration, logger: logger) { client in
                try await body(client, server)
            }
        }
    }

    @Test func clientInterceptorsRunBeforeTheCallsOwnAndSeeTheCall() async throws {
        let seen = Recorder()
        try await withClient(interceptors: [Probe(name: "client-1", recorder: seen), Probe(name: "client-2", recorder: seen)]) { client, _ in
            let parent = ServiceContext.topLevel
            let sum = try await ServiceContext.withValue(parent) {
                try await Test.Client(client).add(
                    .init(n: 4), options: CallOptions(timeout: .seconds(30), interceptors: [Probe(name: "call", recorder: seen)]))
            }
            #expect(try sum.get().result == 4)
        }
        #expect(seen.names == ["client-1", "client-2", "call"])
        let context = try #require(seen.contexts.first)
        #expect(context.descriptor == RiverProcedureDescriptor(service: "test", procedure: "add", kind: .rpc))
        #expect(context.timeout == .seconds(30))
        #expect(seen.payloads.first == .object(["n": .double(4)]))
    }

    @Test func anInterceptorCanRewriteTheRequestOrRefuseTheCall() async throws {
        try await withClient(interceptors: [AddTen()]) { client, _ in
            let sum = try await Test.Client(client).add(.init(n: 1)).get()
            #expect(sum.result == 11, "the server saw n + 10")
            let refused = await #expect(throws: Refused.self) {
                _ = try await Test.Client(client).add(.init(n: -1))
            }
            #expect(refused != nil)
        }
    }

    @Test func inputsAndResultsCanBeObservedAndTransformed() async throws {
        try await withClient(interceptors: [DoubleInputsNegateResults()]) { client, _ in
            let sum = try await client.upload(ReferenceServices.Uploadable.AddMultiple.procedure, .init()) { writer in
                try await writer.write(.init(n: 1))
                try await writer.write(.init(n: 2))
            }
            #expect(try sum.get().result == -6, "inputs doubled (2 + 4), the result negated: \(sum)")
        }
    }

    @Test func theDeadlineInterceptorGivesCallsWithoutOneADefault() async throws {
        try await withClient(interceptors: [DeadlineInterceptor(default: .milliseconds(50))]) { client, _ in
            let error = await #expect(throws: RiverError.self) {
                _ = try await client.rpc(ReferenceServices.Cancel.BlockingRpc.procedure, .init())
            }
            #expect(error?.code == .deadlineExceeded)
            // A call's own deadline wins; streams get none by default.
            let seen = Recorder()
            _ = try await Test.Client(client).add(
                .init(n: 1), options: CallOptions(timeout: .seconds(9), interceptors: [Probe(name: "after", recorder: seen)]))
            try await client.stream(Test.Echo.procedure, .init(), options: CallOptions(interceptors: [Probe(name: "stream", recorder: seen)])) {
                writer, _ in try await writer.finish()
            }
            #expect(seen.contexts.map(\.timeout) == [.seconds(9), nil])
        }
    }

    @Test func theRetryInterceptorRetriesIdempotentRpcsOnUnexpectedDisconnect() async throws {
        let retry = RetryInterceptor(
            retrying: [Test.Add.procedure.descriptor], maxAttempts: 3,
            backoff: .init(initial: .milliseconds(1), maximum: .milliseconds(5), jitter: false))
        let flaky = FailFirst(times: 2, code: .unexpectedDisconnect)
        try await withClient(interceptors: [retry, flaky]) { client, _ in
            let sum = try await Test.Client(client).add(.init(n: 5)).get()
            #expect(sum.result == 5)
            #expect(flaky.attempts == 3, "two lost sessions, then the call that worked")
        }
        // Attempts run out: the last error is thrown.
        let alwaysLost = FailFirst(times: 10, code: .unexpectedDisconnect)
        try await withClient(interceptors: [retry, alwaysLost]) { client, _ in
            let error = await #expect(throws: RiverError.self) { _ = try await Test.Client(client).add(.init(n: 1)) }
            #expect(error?.code == .unexpectedDisconnect)
            #expect(alwaysLost.attempts == 3)
        }
        // Not opted in, or not retryable: one attempt.
        let other = FailFirst(times: 1, code: .unexpectedDisconnect)
        try await withClient(interceptors: [retry, other]) { client, _ in
            _ = try? await ReferenceServices.Fallible.Client(client).divide(.init(a: 1, b: 1))
            #expect(other.attempts == 1, "fallible.divide is not opted in")
        }
        let cancelled = FailFirst(times: 1, code: .cancel)
        try await withClient(interceptors: [retry, cancelled]) { client, _ in
            _ = try? await Test.Client(client).add(.init(n: 1))
            #expect(cancelled.attempts == 1, "only UNEXPECTED_DISCONNECT is retried")
        }
    }

    @Test func theRetryBackoffWaitsOnTheClientsClock() async throws {
        let clock = ManualRiverClock()
        let retry = RetryInterceptor(
            retrying: [Test.Add.procedure.descriptor], backoff: .init(initial: .seconds(60), jitter: false))
        let context = RiverClientContext(
            descriptor: Test.Add.procedure.descriptor, options: CallOptions(), serviceContext: .topLevel, clock: clock)
        let attempts = Atomic<Int>(0)
        async let result: Int = retry.intercept(request: RiverClientRequest(initPayload: .null), context: context) { _, _ in
            if attempts.add(1, ordering: .relaxed).newValue == 1 {
                throw RiverError(code: .unexpectedDisconnect, message: "session lost")
            }
            return 42
        }
        // The backoff of 60 s is a sleep on the manual clock: nothing happens until it moves.
        try await waitUntil("the backoff to wait on the manual clock") { clock.sleeperCount == 1 }
        #expect(attempts.load(ordering: .relaxed) == 1)
        clock.advance(by: .seconds(60))
        #expect(try await result == 42)
        #expect(attempts.load(ordering: .relaxed) == 2)
    }

    @Test func aSessionLostToAServerRestartIsRetriedOnANewSession() async throws {
        let attempts = Recorder()
        let retry = RetryInterceptor(retrying: [Test.Add.procedure.descriptor], backoff: .init(initial: .milliseconds(1), jitter: false))
        try await withClient(interceptors: [retry, Probe(name: "attempt", recorder: attempts)]) { client, server in
            _ = try await Test.Client(client).add(.init(n: 100)).get()
            // The first attempt is in flight (its result held back by the server) when the server
            // restarts, so the resumed session is refused and the call fails with
            // UNEXPECTED_DISCONNECT. The retry runs on a new session, against the fresh server.
            server.setOutgoingDelay(.seconds(30))
            async let sum = Test.Client(client).add(.init(n: 5))
            try await waitUntil("the first attempt to be in flight") { client.transport.registeredStreamCount == 1 }
            server.setOutgoingDelay(nil)
            server.restart()
            #expect(try await sum.get().result == 5, "the restarted server's running total starts at 0")
        }
        #expect(attempts.names.count == 3, "the warm-up call, the lost attempt and the retry")
    }

    @Test func theLoggingInterceptorLogsEachCallAtItsLevel() async throws {
        let (logger, handler) = LoggingTests.capturingLogger(level: .debug)
        try await withClient(interceptors: [LoggingInterceptor(logger: logger, logsPayloads: true)]) { client, _ in
            _ = try await ReferenceServices.Fallible.Client(client).divide(.init(a: 1, b: 0))
            _ = try? await client.rpc(
                ReferenceServices.Cancel.BlockingRpc.procedure, .init(), options: CallOptions(timeout: .milliseconds(50)))
        }
        let entries = handler.entries.filter { $0.message.description.hasPrefix("river call") }
        #expect(entries.map { "\($0.level) \($0.message)" } == [
            "info river call", "debug river call result", "info river call finished",
            "info river call", "warning river call failed",
        ])
        #expect(entries[0].metadata[RiverLogMetadataKey.procedure] == "fallible.divide")
        #expect(entries[0].metadata["river.payload"] != nil)
        #expect(entries[2].metadata["river.results"] == "1")
        #expect(entries[2].metadata["river.service_error"] == "DIV_BY_ZERO")
        #expect(entries[4].metadata[RiverLogMetadataKey.result] == "DEADLINE_EXCEEDED")
    }

    @Test func generatedClientsGoThroughTheInterceptorsUnchanged() async throws {
        let seen = Recorder()
        try await withClient(interceptors: [Probe(name: "generated", recorder: seen)]) { client, _ in
            _ = try await Test.Client(client).add(.init(n: 1))
            _ = try await ReferenceServices.Fallible.Client(client).divide(.init(a: 4, b: 2))
        }
        #expect(seen.contexts.map(\.descriptor.fullName) == ["test.add", "fallible.divide"])
    }
}

// MARK: Test interceptors

/// Records what interceptors saw. (It keeps what it needs of each context, not the context:
/// a context's options hold the interceptors, which hold the recorder.)
final class Recorder: Sendable {
    struct Seen: Sendable {
        var descriptor: RiverProcedureDescriptor
        var timeout: Duration?
    }
    private let state = Mutex<(names: [String], seen: [Seen], payloads: [RiverValue])>(([], [], []))
    func record(_ name: String, _ context: RiverClientContext, _ payload: RiverValue) {
        state.withLock {
            $0.names.append(name)
            $0.seen.append(Seen(descriptor: context.descriptor, timeout: context.options.timeout))
            $0.payloads.append(payload)
        }
    }
    var names: [String] { state.withLock { $0.names } }
    var contexts: [Seen] { state.withLock { $0.seen } }
    var payloads: [RiverValue] { state.withLock { $0.payloads } }
}

/// Records each call it sees.
struct Probe: RiverClientInterceptor {
    let name: String
    let recorder: Recorder
    func intercept<Value: Sendable>(
        request: RiverClientRequest, context: RiverClientContext,
        next: (RiverClientRequest, RiverClientContext) async throws -> Value
    ) async throws -> Value {
        recorder.record(name, context, request.initPayload)
        return try await next(request, context)
    }
}

struct Refused: Error {}

/// Adds 10 to `n`; refuses negative `n`.
struct AddTen: RiverClientInterceptor {
    func intercept<Value: Sendable>(
        request: RiverClientRequest, context: RiverClientContext,
        next: (RiverClientRequest, RiverClientContext) async throws -> Value
    ) async throws -> Value {
        guard case .object(var fields) = request.initPayload, case .double(let n)? = fields["n"] else {
            return try await next(request, context)
        }
        if n < 0 { throw Refused() }
        fields["n"] = .double(n + 10)
        var request = request
        request.initPayload = .object(fields)
        return try await next(request, context)
    }
}

/// Doubles each request's `n` and negates each result's `result`.
struct DoubleInputsNegateResults: RiverClientInterceptor {
    func intercept<Value: Sendable>(
        request: RiverClientRequest, context: RiverClientContext,
        next: (RiverClientRequest, RiverClientContext) async throws -> Value
    ) async throws -> Value {
        var request = request
        request.transformInputs { input in
            guard case .object(var fields) = input, case .double(let n)? = fields["n"] else { return input }
            fields["n"] = .double(n * 2)
            return .object(fields)
        }
        request.transformResults { result in
            guard case .ok(.object(var fields)) = result else { return result }
            switch fields["result"] {
            case .double(let value)?: fields["result"] = .double(-value)
            case .int(let value)?: fields["result"] = .int(-value)
            default: return result
            }
            return .ok(.object(fields))
        }
        return try await next(request, context)
    }
}

/// Throws `code` on the first `times` attempts instead of calling.
final class FailFirst: RiverClientInterceptor {
    let times: Int
    let code: RiverError.Code
    private let count = Atomic<Int>(0)
    init(times: Int, code: RiverError.Code) {
        self.times = times
        self.code = code
    }
    var attempts: Int { count.load(ordering: .relaxed) }
    func intercept<Value: Sendable>(
        request: RiverClientRequest, context: RiverClientContext,
        next: (RiverClientRequest, RiverClientContext) async throws -> Value
    ) async throws -> Value {
        let attempt = count.add(1, ordering: .relaxed).newValue
        if attempt <= times { throw RiverError(code: code, message: "attempt \(attempt) lost") }
        return try await next(request, context)
    }
}

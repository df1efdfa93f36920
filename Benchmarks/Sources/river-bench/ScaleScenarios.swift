#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import River
import RiverWebSocket

// The scale scenarios: big messages, many subscriptions on one session, many idle sessions.

struct BinaryInit: Codable, Sendable { var data: Data }
struct BinaryOutput: Codable, Sendable { var data: Data; var length: Double }
struct CountOutput: Codable, Sendable { var count: Double }

extension Procedures {
    static let echoBinary = RPCProcedure<BinaryInit, BinaryOutput, RiverServiceError>(service: "test", procedure: "echoBinary")
    static let subscribableValue = SubscriptionProcedure<Empty, CountOutput, RiverServiceError>(
        service: "subscribable", procedure: "value")
    static let subscribableAdd = RPCProcedure<NumberInit, ResultOutput, RiverServiceError>(service: "subscribable", procedure: "add")
}

extension RiverBench {
    /// `big_echo`: `--big-rounds` `test.echoBinary` round trips of 1 MB, then of 8 MB. For each
    /// size: the median round trip, the process CPU per round trip, and how far the resident set rose above where it was before
    /// the first round trip of that size (the peak during the rounds, and what stays afterwards).
    func bigEcho(_ client: RiverClient, into figures: inout [Metric: Double]) async throws {
        for (size, p50, cpuPerRound, peak, retained) in [
            (
                1 << 20, Metric.big_echo_1mb_p50_us, Metric.big_echo_1mb_cpu_us, Metric.big_echo_1mb_peak_rss_growth_bytes,
                Metric.big_echo_1mb_retained_rss_bytes
            ),
            (8 << 20, .big_echo_8mb_p50_us, .big_echo_8mb_cpu_us, .big_echo_8mb_peak_rss_growth_bytes, .big_echo_8mb_retained_rss_bytes),
        ] {
            // Bytes that vary (a multiplicative hash of the index), so no layer can shortcut them.
            let payload = Data((0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) })
            let request = BinaryInit(data: payload)
            var samples: [UInt64] = []
            var cpu = 0.0
            let before = ProcessMemory.residentBytes()
            ProcessMemory.resetPeak()
            for _ in 0..<bigRounds {
                let cpuBefore = processCPUMicroseconds()
                let start = nowNanos()
                let result = try await client.rpc(Procedures.echoBinary, request)
                samples.append(nowNanos() - start)
                cpu += processCPUMicroseconds() - cpuBefore
                guard case .success(let output) = result, output.data == payload, output.length == Double(size) else {
                    throw BenchFailure("big_echo: the \(size)-byte echo came back different")
                }
            }
            let peakBytes = ProcessMemory.peakBytes()
            let after = ProcessMemory.residentBytes()
            figures[p50] = Latencies(samples).percentile(0.5)
            figures[cpuPerRound] = cpu / Double(bigRounds)
            if let before, let after, let peakBytes {
                figures[peak] = max(0, peakBytes - before)
                figures[retained] = max(0, after - before)
            }
        }
    }

    /// `stream_1mb`: one `test.echo` stream of 1 MiB messages, at most `--big-window` in
    /// flight, for `--duration` s; payload bytes echoed per second (one direction).
    func streamLarge(_ client: RiverClient, into figures: inout [Metric: Double]) async throws {
        let size = 1 << 20
        let echoes = try await Self.echoWindowed(
            client, message: EchoInput(msg: String(repeating: "r", count: size)), window: bigWindow, duration: duration,
            scenario: "stream_1mb"
        ) { $0.response.utf8.count == size }
        figures[.stream_1mb_mb_per_s] = Double(echoes.count * size) / 1e6 / (Double(echoes.nanoseconds) / 1e9)
    }

    /// `subs`: `--subs` subscriptions to `subscribable.value` on the one session. Times until
    /// every one has its first value (open), until every one has the value one
    /// `subscribable.add` fans out (fan-out), and from cancelling them all until the last one
    /// ended and the server answered an rpc sent after the cancels (cancel); the resident set's
    /// growth per open subscription.
    func subscriptions(_ client: RiverClient, into figures: inout [Metric: Double]) async throws {
        let count = subs
        let opened = ArrivalGate()
        let updated = ArrivalGate()
        let before = ProcessMemory.residentBytes()
        let openStart = nowNanos()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask {
                    do {
                        try await client.subscribe(Procedures.subscribableValue, Empty()) { results in
                            var iterator = results.makeAsyncIterator()
                            guard case .success? = try await iterator.next() else { throw BenchFailure("subs: no first value") }
                            opened.receivedOne()
                            guard case .success? = try await iterator.next() else { throw BenchFailure("subs: no update") }
                            updated.receivedOne()
                            _ = try await iterator.next()  // until cancelled
                        }
                    } catch where Task.isCancelled {
                        return
                    } catch {
                        opened.end()
                        updated.end()
                        throw error
                    }
                }
            }
            await opened.wait(untilReceived: count)
            guard opened.received.count == count else { return try await group.waitForAll() }
            figures[.subs_open_ms] = Double(nowNanos() - openStart) / 1e6
            if let before, let after = ProcessMemory.residentBytes() {
                figures[.subs_rss_per_sub_bytes] = (after - before) / Double(count)
            }

            let fanOutStart = nowNanos()
            guard case .success = try await client.rpc(Procedures.subscribableAdd, NumberInit(n: 1)) else {
                throw BenchFailure("subs: subscribable.add failed")
            }
            await updated.wait(untilReceived: count)
            guard updated.received.count == count else { return try await group.waitForAll() }
            figures[.subs_fanout_ms] = Double(nowNanos() - fanOutStart) / 1e6

            let cancelStart = nowNanos()
            group.cancelAll()
            try await group.waitForAll()
            try await Self.add(client)
            figures[.subs_cancel_ms] = Double(nowNanos() - cancelStart) / 1e6
        }
    }

    /// `subs_group`: the `subs` scenario's `--subs` subscriptions as the members of one
    /// ``SubscriptionGroup`` read by one task, instead of a task each: times until every member
    /// has its first value (open), until every one has the value one `subscribable.add` fans
    /// out (fan-out), and from cancelling them all until the server answered an rpc sent after
    /// the cancels (cancel); the resident set's growth per open member.
    func groupedSubscriptions(_ client: RiverClient, into figures: inout [Metric: Double]) async throws {
        let count = subs
        let before = ProcessMemory.residentBytes()
        let openStart = nowNanos()
        let measured = try await client.withSubscriptionGroup(keyedBy: Int.self, for: Procedures.subscribableValue) { group in
            var measured: [Metric: Double] = [:]
            for key in 0..<count { try await group.add(key, Procedures.subscribableValue, Empty()) }
            var events = group.events.makeAsyncIterator()
            try await Self.receiveValues(count, from: &events, phase: "open")
            measured[.subs_group_open_ms] = Double(nowNanos() - openStart) / 1e6
            if let before, let after = ProcessMemory.residentBytes() {
                measured[.subs_group_rss_per_sub_bytes] = (after - before) / Double(count)
            }

            let fanOutStart = nowNanos()
            guard case .success = try await client.rpc(Procedures.subscribableAdd, NumberInit(n: 1)) else {
                throw BenchFailure("subs_group: subscribable.add failed")
            }
            try await Self.receiveValues(count, from: &events, phase: "fan-out")
            measured[.subs_group_fanout_ms] = Double(nowNanos() - fanOutStart) / 1e6

            let cancelStart = nowNanos()
            group.cancelAll()
            try await Self.add(client)
            measured[.subs_group_cancel_ms] = Double(nowNanos() - cancelStart) / 1e6
            return measured
        }
        figures.merge(measured) { _, new in new }
    }

    /// Reads `count` successful results from a group's events; anything else fails the scenario.
    private static func receiveValues(
        _ count: Int, from events: inout SubscriptionGroup<Int, CountOutput, RiverServiceError>.Events.AsyncIterator,
        phase: String
    ) async throws {
        for _ in 0..<count {
            guard let event = await events.next() else { throw BenchFailure("subs_group \(phase): the group ended") }
            guard case .result(_, .success) = event else { throw BenchFailure("subs_group \(phase): \(event)") }
        }
    }

    /// `sessions`: `--sessions` further clients, each with its own session and connection,
    /// connected with one rpc each and left idle: resident-set growth per session, and the
    /// process's CPU over `--idle-window` s as a percentage of one core. Then one of them
    /// makes `--seq` calls one after another (their p50), and `--concurrency` concurrent calls
    /// for `--duration` s (calls per second, the process's CPU per call), while the others
    /// stay idle: compare with `rpc_seq` and `rpc_conc64`, the same loads with no other
    /// sessions.
    func idleSessions(url: String, into figures: inout [Metric: Double]) async throws {
        let count = sessions
        let before = ProcessMemory.residentBytes()
        let clients = try (0..<count).map { _ in
            try RiverClient(
                connector: WebSocketConnector(url: url), configuration: clientConfiguration(),
                logger: logger(label: "river-bench.client"))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { try await client.run() } }
            defer { for client in clients { client.close() } }
            // Connect them, 32 at a time.
            try await withThrowingTaskGroup(of: Void.self) { connecting in
                var pending = clients[...]
                for client in pending.prefix(32) { connecting.addTask { try await Self.add(client) } }
                pending = pending.dropFirst(32)
                while try await connecting.next() != nil {
                    guard let client = pending.popFirst() else { continue }
                    connecting.addTask { try await Self.add(client) }
                }
            }
            // Let the connections settle (their timers start, first heartbeats pass).
            try await Task.sleep(for: .seconds(2))
            if let before, let after = ProcessMemory.residentBytes() {
                figures[.sessions_rss_per_session_bytes] = (after - before) / Double(count)
            }
            let cpuBefore = processCPUMicroseconds()
            let start = nowNanos()
            try await Task.sleep(for: .seconds(idleWindow))
            let elapsed = Double(nowNanos() - start) / 1e3
            figures[.sessions_idle_cpu_percent] = (processCPUMicroseconds() - cpuBefore) / elapsed * 100
            if let busy = clients.first {
                figures[.sessions_seq_p50_us] = try await sequentialCalls(busy).latencies.percentile(0.50)
                let run = try await concurrentCalls(busy)
                figures[.sessions_busy_calls_per_s] = run.callsPerSecond
                figures[.sessions_busy_cpu_us_per_call] = run.cpuMicrosecondsPerCall
            }
            for client in clients { client.close() }
            try await group.waitForAll()
        }
    }
}

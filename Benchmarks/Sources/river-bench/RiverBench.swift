// river-bench: end-to-end River client benchmarks over WebSocket (see Benchmarks/README.md).
//
// Run in release:
//   swift build -c release --scratch-path .build-bench --product river-bench
//   .build-bench/release/river-bench --codec msgpack
//
// Prints one `BENCH name=… value=… unit=… client=swift codec=…` line per figure on stdout
// (notes go to stderr). Nothing here asserts a time.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Logging
import River
import RiverTestServer
import RiverWebSocket

// MARK: The reference services' types

struct NumberInit: Codable, Sendable { var n: Double }
struct ResultOutput: Codable, Sendable { var result: Double }
struct Empty: Codable, Sendable {}
struct EchoInput: Codable, Sendable { var msg: String }
struct EchoOutput: Codable, Sendable { var response: String }

enum Procedures {
    static let add = RPCProcedure<NumberInit, ResultOutput, RiverServiceError>(service: "test", procedure: "add")
    static let echo = StreamProcedure<Empty, EchoInput, EchoOutput, RiverServiceError>(service: "test", procedure: "echo")
    static let addMultiple = UploadProcedure<Empty, NumberInit, ResultOutput, RiverServiceError>(
        service: "uploadable", procedure: "addMultiple")
}

/// A benchmark failed to run as intended (a mismatch or an unexpected result).
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: Metrics

enum Unit: String {
    case us, ms, calls_per_s, msgs_per_s, mb_per_s, us_cpu, bytes, percent
}

/// The metrics, in output order.
enum Metric: String, CaseIterable {
    case rpc_seq_p50_us, rpc_seq_p90_us, rpc_seq_p99_us, rpc_seq_mean_us, rpc_seq_calls_per_s
    case rpc_conc64_calls_per_s, rpc_conc64_p50_us, rpc_conc64_p99_us
    case stream_echo_msgs_per_s
    case upload_msgs_per_s, upload_msgs_total
    case rpc_conc64_cpu_us_per_call
    case big_echo_1mb_p50_us, big_echo_1mb_cpu_us, big_echo_1mb_peak_rss_growth_bytes, big_echo_1mb_retained_rss_bytes
    case big_echo_8mb_p50_us, big_echo_8mb_cpu_us, big_echo_8mb_peak_rss_growth_bytes, big_echo_8mb_retained_rss_bytes
    case stream_1mb_mb_per_s
    case subs_open_ms, subs_fanout_ms, subs_cancel_ms, subs_rss_per_sub_bytes
    case subs_group_open_ms, subs_group_fanout_ms, subs_group_cancel_ms, subs_group_rss_per_sub_bytes
    case sessions_rss_per_session_bytes, sessions_idle_cpu_percent, sessions_seq_p50_us, sessions_busy_calls_per_s
    case sessions_busy_cpu_us_per_call
    case proto_rpc_seq_p50_us, proto_rpc_seq_p99_us, proto_rpc_seq_calls_per_s
    case peak_rss_bytes

    var unit: Unit {
        switch self {
        case .rpc_seq_p50_us, .rpc_seq_p90_us, .rpc_seq_p99_us, .rpc_seq_mean_us, .rpc_conc64_p50_us, .rpc_conc64_p99_us,
            .big_echo_1mb_p50_us, .big_echo_8mb_p50_us, .proto_rpc_seq_p50_us, .proto_rpc_seq_p99_us, .sessions_seq_p50_us:
            .us
        case .subs_open_ms, .subs_fanout_ms, .subs_cancel_ms, .subs_group_open_ms, .subs_group_fanout_ms, .subs_group_cancel_ms: .ms
        case .rpc_seq_calls_per_s, .rpc_conc64_calls_per_s, .proto_rpc_seq_calls_per_s, .sessions_busy_calls_per_s: .calls_per_s
        case .stream_echo_msgs_per_s, .upload_msgs_per_s, .upload_msgs_total: .msgs_per_s
        case .stream_1mb_mb_per_s: .mb_per_s
        case .rpc_conc64_cpu_us_per_call, .big_echo_1mb_cpu_us, .big_echo_8mb_cpu_us, .sessions_busy_cpu_us_per_call: .us_cpu
        case .peak_rss_bytes, .big_echo_1mb_peak_rss_growth_bytes, .big_echo_1mb_retained_rss_bytes,
            .big_echo_8mb_peak_rss_growth_bytes, .big_echo_8mb_retained_rss_bytes, .subs_rss_per_sub_bytes,
            .subs_group_rss_per_sub_bytes, .sessions_rss_per_session_bytes:
            .bytes
        case .sessions_idle_cpu_percent: .percent
        }
    }

    func format(_ value: Double) -> String {
        switch self {
        case .peak_rss_bytes, .upload_msgs_total, .big_echo_1mb_peak_rss_growth_bytes, .big_echo_1mb_retained_rss_bytes,
            .big_echo_8mb_peak_rss_growth_bytes, .big_echo_8mb_retained_rss_bytes:
            String(Int64(value.rounded()))
        case .rpc_conc64_cpu_us_per_call, .sessions_idle_cpu_percent, .sessions_busy_cpu_us_per_call: String(Double(Int64((value * 100).rounded())) / 100)
        default: String(Double(Int64((value * 10).rounded())) / 10)
        }
    }
}

enum Scenario: String, CaseIterable, ExpressibleByArgument {
    case rpc_seq, rpc_conc64, stream_echo, upload, proto_rpc_seq
    case big_echo, stream_1mb, subs, subs_group, sessions

    /// The scenarios a run without `--only` selects: the per-call ones. The scale scenarios
    /// (big messages, many subscriptions or sessions) are selected by name or with `--only scale`.
    static let perCall: [Scenario] = [.rpc_seq, .rpc_conc64, .stream_echo, .upload, .proto_rpc_seq]
    static let scale: [Scenario] = [.big_echo, .stream_1mb, .subs, .subs_group, .sessions]
}

// MARK: The command

@main
struct RiverBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "river-bench",
        abstract: "End-to-end River client benchmarks over WebSocket against the reference test services.",
        discussion: """
            Without a URL, starts the Swift test server in-process on 127.0.0.1 (its CPU time then
            counts in rpc_conc64_cpu_us_per_call). Prints `BENCH name=… value=… unit=… client=swift
            codec=…` lines; with --repeat N, per-run `BENCH_RUN run=i …` lines and the median as `BENCH`.
            """
    )

    enum Codec: String, ExpressibleByArgument, CaseIterable {
        case json, msgpack
    }

    @Argument(help: "A ws:// URL of a River server serving the reference test services (default: an in-process Swift test server).")
    var url: String?

    @Option(help: "Wire codec: json or msgpack (must match the server's).")
    var codec: Codec = .json

    @Option(name: .customLong("server-id"), help: "The server's id.")
    var serverID: String = "SERVER"

    @Option(help: "Seconds each duration-bound scenario (rpc_conc64, stream_echo, upload) runs.")
    var duration: Double = 5

    @Option(help: "Back-to-back calls in rpc_seq.")
    var seq: Int = 5000

    @Option(help: "Concurrent callers in rpc_conc64.")
    var concurrency: Int = 64

    @Option(help: "Most echo messages in flight in stream_echo (refilled when half drained).")
    var window: Int = 1000

    @Option(help: "Warm-up test.add calls before the scenarios.")
    var warmup: Int = 500

    @Option(name: .customLong("repeat"), help: "Runs (each a fresh session); the BENCH line is the median.")
    var repeatCount: Int = 1

    @Option(help: "Round trips of each size in big_echo.")
    var bigRounds: Int = 10

    @Option(help: "Most 1 MiB messages in flight in stream_1mb (refilled when half drained).")
    var bigWindow: Int = 8

    @Option(help: "Subscriptions opened on the one session in subs and subs_group.")
    var subs: Int = 10_000

    @Option(help: "Further idle sessions (clients) in sessions.")
    var sessions: Int = 500

    @Option(help: "Seconds over which sessions measures the idle CPU.")
    var idleWindow: Double = 10

    @Option(help: "Log level (trace, debug, info, …) of the clients and the in-process server, to stderr (default: none).")
    var logLevel: String?

    @Option(help: """
        Comma-separated scenarios: rpc_seq,rpc_conc64,stream_echo,upload,proto_rpc_seq (the default), \
        big_echo,stream_1mb,subs,subs_group,sessions, or the groups 'scale' and 'all'.
        """)
    var only: String?

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard seq > 0, concurrency > 0, window > 1, warmup >= 0, repeatCount > 0 else {
            throw ValidationError("--seq, --concurrency and --repeat must be positive; --window > 1")
        }
        guard bigRounds > 0, bigWindow > 1, subs > 0, sessions > 0, idleWindow > 0 else {
            throw ValidationError("--big-rounds, --subs, --sessions and --idle-window must be positive; --big-window > 1")
        }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("unknown --log-level '\(logLevel)' (\(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        _ = try scenarios()
    }

    func scenarios() throws -> [Scenario] {
        guard let only else { return Scenario.perCall }
        return try only.split(separator: ",").flatMap { name -> [Scenario] in
            let trimmed = String(name.filter { $0 != " " })
            if trimmed == "scale" { return Scenario.scale }
            if trimmed == "all" { return Scenario.allCases }
            guard let scenario = Scenario(rawValue: trimmed) else {
                let known = Scenario.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("unknown scenario '\(trimmed)' (\(known), scale, all)")
            }
            return [scenario]
        }
    }

    var riverCodec: any RiverCodec { codec == .json ? JSONCodec() : MessagePackCodec() }

    func run() async throws {
        if let url {
            note("server: \(url) (external; CPU figures are the client's alone)")
            try await runAll(url: url)
            return
        }
        let server = RiverTestServer(
            configuration: .init(codec: riverCodec, serverID: serverID),
            logger: logger(label: "river-bench.server"))
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await server.run(host: "127.0.0.1", port: 0) { port in
                    portContinuation.yield(port)
                    portContinuation.finish()
                }
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw BenchFailure("the test server did not start") }
            note("server: in-process Swift test server on ws://127.0.0.1:\(port) (its CPU time and memory count in the CPU and RSS figures)")
            do {
                try await runAll(url: "ws://127.0.0.1:\(port)")
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    // MARK: Runs

    private func runAll(url: String) async throws {
        let selected = try scenarios()
        var runs: [[Metric: Double]] = []
        for run in 1...repeatCount {
            let figures = try await runOnce(url: url, scenarios: selected)
            runs.append(figures)
            if repeatCount > 1 {
                for metric in Metric.allCases {
                    if let value = figures[metric] { emit(metric, value, prefix: "BENCH_RUN run=\(run) ") }
                }
            }
        }
        for metric in Metric.allCases {
            let values = runs.compactMap { $0[metric] }
            if !values.isEmpty { emit(metric, median(values), prefix: "BENCH ") }
        }
    }

    /// One run: a fresh client session, the warm-up, then the selected scenarios.
    private func runOnce(url: String, scenarios: [Scenario]) async throws -> [Metric: Double] {
        let connector = try WebSocketConnector(url: url)
        let configuration = clientConfiguration()
        let logger = logger(label: "river-bench.client")
        return try await withRiverClient(connector: connector, configuration: configuration, logger: logger) { client in
            for _ in 0..<warmup { try await Self.add(client) }
            var figures: [Metric: Double] = [:]
            for scenario in scenarios {
                switch scenario {
                case .rpc_seq: try await rpcSequential(client, into: &figures)
                case .rpc_conc64: try await rpcConcurrent(client, into: &figures)
                case .stream_echo: try await streamEcho(client, into: &figures)
                case .upload: try await upload(client, into: &figures)
                case .proto_rpc_seq: try await protobufRPCSequential(into: &figures)
                case .big_echo: try await bigEcho(client, into: &figures)
                case .stream_1mb: try await streamLarge(client, into: &figures)
                case .subs: try await subscriptions(client, into: &figures)
                case .subs_group: try await groupedSubscriptions(client, into: &figures)
                case .sessions: try await idleSessions(url: url, into: &figures)
                }
            }
            figures[.peak_rss_bytes] = peakRSSBytes()
            return figures
        }
    }

    /// A logger writing to stderr at `--log-level`, or one that discards everything.
    func logger(label: String) -> Logger {
        guard let level = logLevel.flatMap(Logger.Level.init(rawValue:)) else {
            return Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
        }
        var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = level
        return logger
    }

    /// The settings of every client the benchmark opens.
    func clientConfiguration() -> RiverClient.Configuration {
        RiverClient.Configuration(serverID: serverID, codec: riverCodec)
    }

    @inline(__always)
    static func add(_ client: RiverClient) async throws {
        switch try await client.rpc(Procedures.add, NumberInit(n: 1)) {
        case .success: return
        case .failure(let error): throw BenchFailure("test.add failed: \(error)")
        }
    }

    // MARK: Scenarios

    private func rpcSequential(_ client: RiverClient, into figures: inout [Metric: Double]) async throws {
        let (latencies, elapsed) = try await sequentialCalls(client)
        figures[.rpc_seq_p50_us] = latencies.percentile(0.50)
        figures[.rpc_seq_p90_us] = latencies.percentile(0.90)
        figures[.rpc_seq_p99_us] = latencies.percentile(0.99)
        figures[.rpc_seq_mean_us] = latencies.mean
        figures[.rpc_seq_calls_per_s] = Double(seq) / elapsed
    }

    /// `--seq` `test.add` calls on `client`, one after another: their latencies and the time
    /// they took in all (s).
    func sequentialCalls(_ client: RiverClient) async throws -> (latencies: Latencies, seconds: Double) {
        var samples: [UInt64] = []
        samples.reserveCapacity(seq)
        let start = nowNanos()
        for _ in 0..<seq {
            let before = nowNanos()
            try await Self.add(client)
            samples.append(nowNanos() - before)
        }
        return (Latencies(samples), Double(nowNanos() - start) / 1e9)
    }

    private func rpcConcurrent(_ client: RiverClient, into figures: inout [Metric: Double]) async throws {
        let run = try await concurrentCalls(client)
        figures[.rpc_conc64_calls_per_s] = run.callsPerSecond
        figures[.rpc_conc64_p50_us] = run.latencies.percentile(0.50)
        figures[.rpc_conc64_p99_us] = run.latencies.percentile(0.99)
        figures[.rpc_conc64_cpu_us_per_call] = run.cpuMicrosecondsPerCall
    }

    /// `--concurrency` callers making `test.add` calls on `client` for `--duration` s.
    func concurrentCalls(
        _ client: RiverClient
    ) async throws -> (latencies: Histogram, callsPerSecond: Double, cpuMicrosecondsPerCall: Double) {
        let callers = concurrency
        let durationNanos = UInt64(duration * 1e9)
        let cpuBefore = processCPUMicroseconds()
        let start = nowNanos()
        let deadline = start + durationNanos
        let histogram = try await withThrowingTaskGroup(of: Histogram.self, returning: Histogram.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var local = Histogram()
                    while true {
                        let before = nowNanos()
                        if before >= deadline { break }
                        try await Self.add(client)
                        local.record(nowNanos() - before)
                    }
                    return local
                }
            }
            var all = Histogram()
            for try await local in group { all.merge(local) }
            return all
        }
        let elapsed = Double(nowNanos() - start) / 1e9
        let cpu = processCPUMicroseconds() - cpuBefore
        return (histogram, Double(histogram.count) / elapsed, histogram.count > 0 ? cpu / Double(histogram.count) : 0)
    }

    private func streamEcho(_ client: RiverClient, into figures: inout [Metric: Double]) async throws {
        let echoes = try await Self.echoWindowed(
            client, message: EchoInput(msg: "hello"), window: window, duration: duration, scenario: "stream_echo"
        ) { $0.response == "hello" }
        figures[.stream_echo_msgs_per_s] = Double(echoes.count) / (Double(echoes.nanoseconds) / 1e9)
    }

    /// One `test.echo` stream: at most `window` copies of `message` in flight, refilled to the
    /// window whenever half have come back, for `duration` s; then CLOSE and drain. Returns the
    /// echoes received and the time from the first write to the last echo; fails unless every
    /// echo passes `isEcho` and as many came back as were sent.
    static func echoWindowed(
        _ client: RiverClient, message: EchoInput, window: Int, duration: Double, scenario: String,
        isEcho: @escaping @Sendable (EchoOutput) -> Bool
    ) async throws -> (count: Int, nanoseconds: UInt64) {
        let half = window / 2
        let deadline = nowNanos() + UInt64(duration * 1e9)
        let gate = ArrivalGate()
        let (sent, received, start, last) = try await client.stream(Procedures.echo, Empty()) {
            writer, responses -> (Int, Int, UInt64, UInt64) in
            try await withThrowingTaskGroup(of: Void.self, returning: (Int, Int, UInt64, UInt64).self) { group in
                group.addTask {
                    defer { gate.end() }
                    for try await result in responses {
                        guard case .success(let output) = result, isEcho(output) else {
                            throw BenchFailure("\(scenario): an echo came back different")
                        }
                        gate.receivedOne()
                    }
                }
                let start = nowNanos()
                var sent = 0
                while nowNanos() < deadline {
                    // Fill the window, then wait until half of it has come back.
                    let inFlight = sent - gate.received.count
                    for _ in 0..<(window - inFlight) {
                        try await writer.write(message)
                        sent += 1
                    }
                    await gate.wait(untilReceived: sent - half)
                }
                try await writer.finish()
                try await group.waitForAll()
                let (received, last) = gate.received
                return (sent, received, start, last)
            }
        }
        guard sent == received else { throw BenchFailure("\(scenario): sent \(sent) messages but received \(received) echoes") }
        return (received, last - start)
    }

    private func upload(_ client: RiverClient, into figures: inout [Metric: Double]) async throws {
        let deadline = nowNanos() + UInt64(duration * 1e9)
        var sent = 0
        var start: UInt64 = 0
        let result = try await client.upload(Procedures.addMultiple, Empty()) { writer in
            let request = NumberInit(n: 1)
            start = nowNanos()
            while nowNanos() < deadline {
                for _ in 0..<16 {
                    try await writer.write(request)
                }
                sent += 16
            }
        }
        let end = nowNanos()
        switch result {
        case .success(let output):
            guard output.result == Double(sent) else {
                throw BenchFailure("upload: sent \(sent) messages but the server added up \(output.result)")
            }
        case .failure(let error):
            throw BenchFailure("upload failed: \(error)")
        }
        figures[.upload_msgs_per_s] = Double(sent) / (Double(end - start) / 1e9)
        figures[.upload_msgs_total] = Double(sent)
    }

    // MARK: Output

    private func emit(_ metric: Metric, _ value: Double, prefix: String) {
        print("\(prefix)name=\(metric.rawValue) value=\(metric.format(value)) unit=\(metric.unit.rawValue) client=swift codec=\(codec.rawValue)")
    }

    private func note(_ text: String) {
        var standardError = StandardError()
        print("# \(text)", to: &standardError)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        bytes.withUnsafeBytes { buffer in
            #if canImport(Glibc)
            _ = Glibc.write(2, buffer.baseAddress, buffer.count)
            #else
            _ = Darwin.write(2, buffer.baseAddress, buffer.count)
            #endif
        }
    }
}

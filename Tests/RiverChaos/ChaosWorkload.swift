public import River
public import RiverTestServer
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The reference services' shapes the workload uses (the test target has its own copies; this
// library is shared by the chaos tests and the `river-soak` executable).
struct ChaosNumber: Codable, Sendable, Hashable { var n: Double }
struct ChaosEmpty: Codable, Sendable, Hashable {}
struct ChaosEchoInput: Codable, Sendable, Hashable { var msg: String }
struct ChaosEchoOutput: Codable, Sendable, Hashable { var response: String }
struct ChaosTotal: Codable, Sendable, Hashable { var result: Double }
struct ChaosMessages: Codable, Sendable, Hashable { var msgs: [Double] }

enum ChaosProcedures {
    static let orderingAdd = RPCProcedure<ChaosNumber, ChaosNumber, RiverServiceError>(service: "ordering", procedure: "add")
    static let orderingGetAll = RPCProcedure<ChaosEmpty, ChaosMessages, RiverServiceError>(service: "ordering", procedure: "getAll")
    static let echo = StreamProcedure<ChaosEmpty, ChaosEchoInput, ChaosEchoOutput, RiverServiceError>(service: "test", procedure: "echo")
    static let addMultiple = UploadProcedure<ChaosEmpty, ChaosNumber, ChaosTotal, RiverServiceError>(service: "uploadable", procedure: "addMultiple")
}

/// Settings of the chaos runs: timings chosen so that a session survives every fault even on a
/// loaded two-core machine running the whole suite in parallel (a 60 s grace period, 5-10 s
/// connect and handshake timeouts, an unlimited reconnect budget, short backoff), while faults
/// are still noticed quickly (200 ms heartbeats, dead after 3).
public enum ChaosSettings {
    /// The test server's timings.
    public static let serverTimings = RiverTestServer.Timings(
        heartbeatInterval: .milliseconds(200), heartbeatsUntilDead: 3,
        sessionDisconnectGrace: .seconds(60), handshakeTimeout: .seconds(10))

    /// The client's session settings.
    public static func configureClient(_ configuration: inout RiverClient.Configuration) {
        configuration.session.heartbeatInterval = .milliseconds(200)
        configuration.session.heartbeatsUntilDead = 3
        configuration.session.handshakeTimeout = .seconds(5)
        configuration.session.connectionTimeout = .seconds(5)
        configuration.session.sessionDisconnectGrace = .seconds(60)
        configuration.session.backoff.baseInterval = .milliseconds(20)
        configuration.session.backoff.maxJitter = .milliseconds(20)
        configuration.session.backoff.maxBackoff = .milliseconds(200)
        configuration.session.backoff.attemptBudgetCapacity = 1_000_000
    }

    /// The seed from the environment variable `RIVER_CHAOS_SEED` if set (decimal or 0x-hex),
    /// else `fallback`.
    public static func seed(fallback: UInt64) -> UInt64 {
        guard let raw = getenv("RIVER_CHAOS_SEED") else { return fallback }
        let text = String(cString: raw)
        if text.hasPrefix("0x"), let value = UInt64(text.dropFirst(2), radix: 16) { return value }
        return UInt64(text) ?? fallback
    }
}

/// What one chaos workload run did, and everything it found wrong.
public struct ChaosReport: Sendable {
    /// Rpcs attempted.
    public var rpcsSent = 0
    /// Rpcs that returned a result.
    public var rpcsCompleted = 0
    /// Stream messages written.
    public var echoSent = 0
    /// Stream messages echoed back.
    public var echoed = 0
    /// Upload values written.
    public var uploadSent = 0
    /// Upload values acknowledged by the final total.
    public var uploaded = 0
    /// Messages lost, duplicated or reordered, and calls that failed (must be 0).
    public var lost = 0
    /// A description of each problem (the first few).
    public var problems: [String] = []

    /// An empty report.
    public init() {}

    /// Whether nothing went wrong.
    public var isClean: Bool { lost == 0 && problems.isEmpty }

    mutating func problem(_ text: String, count: Int = 1) {
        lost += count
        if problems.count < 20 { problems.append(text) }
    }
}

/// Live counters a running workload updates (for progress output).
public final class ChaosProgress: Sendable {
    private let completed = Atomic<Int>(0)
    /// Creates zeroed counters.
    public init() {}
    /// Calls and messages completed so far.
    public var callsCompleted: Int { completed.load(ordering: .relaxed) }
    func add(_ n: Int = 1) { completed.add(n, ordering: .relaxed) }
}

/// The chaos workload: concurrent `ordering.add` rpcs from several tasks, one `test.echo`
/// stream echoing every message, one `uploadable.addMultiple` upload, then verification with
/// `ordering.getAll`.
public struct ChaosWorkload: Sendable {
    /// Tasks sending rpcs; task `k` sends `base + k·1_000_000 + i`.
    public var rpcTasks = 8
    /// Rpcs per task.
    public var rpcsPerTask = 640
    /// Messages on the echo stream.
    public var echoMessages = 1_000
    /// Values in the upload (1 … n).
    public var uploadValues = 1_000
    /// When set, every part keeps going (past its count) until this much time has passed, so
    /// that a run lasts long enough for many faults whatever the machine's speed.
    public var minimumDuration: Duration?

    /// Creates the default workload (at least 5,120 rpcs, 1,000 echoes, 1,000 uploaded values).
    public init(minimumDuration: Duration? = nil) {
        self.minimumDuration = minimumDuration
    }

    /// Total rpcs.
    public var totalRPCs: Int { rpcTasks * rpcsPerTask }

    /// Runs the workload once. `base` offsets the rpc values so that repeated runs against one
    /// server stay distinguishable; values below `base` are ignored by the check.
    /// - Returns: What happened; calls that throw are reported in it, not rethrown.
    public func run(client: RiverClient, base: Double = 0, progress: ChaosProgress = ChaosProgress()) async -> ChaosReport {
        var report = ChaosReport()
        let tasks = rpcTasks
        let perTask = rpcsPerTask
        let until = ContinuousClock.now + (minimumDuration ?? .zero)
        var sentPerTask = [Int](repeating: 0, count: tasks)
        await withTaskGroup(of: (Int?, ChaosReport).self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var part = ChaosReport()
                    var i = 0
                    while i < perTask || ContinuousClock.now < until {
                        defer { i += 1 }
                        part.rpcsSent += 1
                        let value = base + Double(task * 1_000_000 + i)
                        do {
                            let reply = try await client.rpc(ChaosProcedures.orderingAdd, ChaosNumber(n: value)).get()
                            if reply.n != value { part.problem("ordering.add(\(value)) answered \(reply.n)") }
                            part.rpcsCompleted += 1
                            progress.add()
                        } catch {
                            part.problem("ordering.add(\(value)) failed: \(error)")
                        }
                    }
                    return (task, part)
                }
            }
            group.addTask { (nil, await runEcho(client: client, until: until, progress: progress)) }
            group.addTask { (nil, await runUpload(client: client, until: until, progress: progress)) }
            for await (task, part) in group {
                if let task { sentPerTask[task] = part.rpcsSent }
                report.rpcsSent += part.rpcsSent
                report.echoSent += part.echoSent
                report.uploadSent += part.uploadSent
                report.rpcsCompleted += part.rpcsCompleted
                report.echoed += part.echoed
                report.uploaded += part.uploaded
                report.lost += part.lost
                for problem in part.problems where report.problems.count < 20 { report.problems.append(problem) }
            }
        }
        do {
            let all = try await client.rpc(ChaosProcedures.orderingGetAll, ChaosEmpty()).get().msgs
            check(all: all, base: base, sentPerTask: sentPerTask, report: &report)
        } catch {
            report.problem("ordering.getAll failed: \(error)")
        }
        return report
    }

    private func check(all: [Double], base: Double, sentPerTask: [Int], report: inout ChaosReport) {
        var perTask = [[Double]](repeating: [], count: rpcTasks)
        for value in all where value >= base {
            let offset = Int(value - base)
            let task = offset / 1_000_000
            guard perTask.indices.contains(task) else {
                report.problem("ordering.getAll holds a value no task sent: \(value)")
                continue
            }
            perTask[task].append(value)
        }
        for (task, values) in perTask.enumerated() {
            let expected = (0..<sentPerTask[task]).map { base + Double(task * 1_000_000 + $0) }
            guard values != expected else { continue }
            let seen = Set(values)
            let missing = expected.filter { !seen.contains($0) }.count
            let duplicates = values.count - seen.count
            let misordered = missing == 0 && duplicates == 0 ? 1 : 0
            report.problem(
                "task \(task): \(missing) values missing, \(duplicates) duplicated\(misordered == 1 ? ", order broken" : "")"
                    + " (first values: \(values.prefix(5)))",
                count: max(1, missing + duplicates))
        }
    }

    private func runEcho(client: RiverClient, until: ContinuousClock.Instant, progress: ChaosProgress) async -> ChaosReport {
        var report = ChaosReport()
        let minimum = echoMessages
        do {
            let (count, echoed) = try await client.stream(ChaosProcedures.echo, ChaosEmpty()) { writer, responses in
                var iterator = responses.makeAsyncIterator()
                var echoed: [String] = []
                var i = 0
                while i < minimum || ContinuousClock.now < until {
                    try await writer.write(ChaosEchoInput(msg: "echo-\(i)"))
                    i += 1
                    guard let next = try await iterator.next() else { break }
                    echoed.append(try next.get().response)
                    progress.add()
                }
                try await writer.finish()
                while let next = try await iterator.next() { echoed.append(try next.get().response) }
                return (i, echoed)
            }
            report.echoSent = count
            let expected = (0..<count).map { "echo-\($0)" }
            report.echoed = echoed.count
            if echoed != expected {
                let seen = Set(echoed)
                let missing = expected.filter { !seen.contains($0) }.count
                report.problem(
                    "echo stream: \(echoed.count) of \(count) echoed, \(missing) missing, \(echoed.count - seen.count) duplicated",
                    count: max(1, missing + echoed.count - seen.count))
            }
        } catch {
            report.problem("echo stream failed: \(error)")
        }
        return report
    }

    private func runUpload(client: RiverClient, until: ContinuousClock.Instant, progress: ChaosProgress) async -> ChaosReport {
        var report = ChaosReport()
        let minimum = uploadValues
        let written = Mutex(0)
        do {
            let total = try await client.upload(ChaosProcedures.addMultiple, ChaosEmpty()) { writer in
                var i = 0
                while i < minimum || ContinuousClock.now < until {
                    // Past the minimum, a slow trickle: the upload should not crowd out the rpcs.
                    if i >= minimum { try await Task.sleep(for: .milliseconds(5)) }
                    i += 1
                    try await writer.write(ChaosNumber(n: Double(i)))
                    written.withLock { $0 = i }
                    progress.add()
                }
            }.get().result
            let count = written.withLock { $0 }
            report.uploadSent = count
            let expected = Double(count * (count + 1) / 2)
            if total == expected {
                report.uploaded = count
            } else {
                report.problem("upload total \(total), expected \(expected)")
            }
        } catch {
            report.problem("upload failed: \(error)")
        }
        return report
    }
}

/// Injects faults into a ``ChaosProxy`` at seeded random intervals until cancelled.
public struct ChaosMonkey: Sendable {
    /// The seed (print it: the same seed gives the same fault schedule).
    public var seed: UInt64
    /// Shortest pause between a connection carrying traffic and the next fault.
    public var minimumInterval: Duration = .milliseconds(50)
    /// Longest such pause.
    public var maximumInterval: Duration = .milliseconds(500)
    /// The fraction of faults that are blackholes (the rest are resets).
    public var blackholeFraction = 0.3
    /// How long a blackholed connection stays silent before it is reset (at least the
    /// client's dead interval, so its watchdog is what notices).
    public var blackholeDuration: ClosedRange<Int> = 700...1_500

    /// Creates a monkey.
    public init(seed: UInt64) { self.seed = seed }

    /// Runs until the task is cancelled: waits for a live connection with traffic both ways,
    /// waits a random pause, injects a random fault.
    public func run(proxy: ChaosProxy, log: @Sendable (String) -> Void = { _ in }) async {
        var random = SplitMix64(seed: seed)
        let low = Int(minimumInterval.components.seconds * 1000 + minimumInterval.components.attoseconds / 1_000_000_000_000_000)
        let high = Int(maximumInterval.components.seconds * 1000 + maximumInterval.components.attoseconds / 1_000_000_000_000_000)
        while !Task.isCancelled {
            // Wait (event-driven, by polling the proxy's counters) for a forwarding connection
            // that has carried traffic both ways, i.e. one whose handshake went through.
            while !Task.isCancelled {
                let statistics = proxy.statistics
                if statistics.forwarding > 0, statistics.liveTraffic >= 512 { break }
                guard (try? await Task.sleep(for: .milliseconds(5))) != nil else { return }
            }
            let pause = Int.random(in: low...max(low, high), using: &random)
            guard (try? await Task.sleep(for: .milliseconds(pause))) != nil else { return }
            let fault: ChaosProxy.Fault
            if Double.random(in: 0..<1, using: &random) < blackholeFraction {
                fault = .blackhole(cutAfter: .milliseconds(Int.random(in: blackholeDuration, using: &random)))
            } else {
                fault = .reset
            }
            log("fault: \(fault)")
            let before = proxy.statistics.cuts
            proxy.inject(fault)
            // Wait for the proxy to apply it before looking for the next live connection.
            while !Task.isCancelled, proxy.statistics.cuts == before, proxy.statistics.forwarding > 0 {
                guard (try? await Task.sleep(for: .milliseconds(2))) != nil else { return }
            }
        }
    }
}

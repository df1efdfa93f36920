import ArgumentParser
import River
import RiverChaos
import RiverTestServer
import RiverWebSocket
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the chaos workload (see `Tests/RiverChaos`) over WebSocket through a fault-injecting
/// proxy for a fixed time, printing progress every 10 s. Exits non-zero if any message was
/// lost, duplicated or reordered, any call failed, or RSS (after malloc_trim) grew more than 10%
/// after warm-up.
///
/// Each round uses a fresh server, proxy and client (so server-side state does not grow);
/// memory that survives rounds is what a leak looks like.
@main
struct RiverSoak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "river-soak",
        abstract: "Soak River's client under random network faults; fail on loss or memory growth.")

    @Option(help: "How long to run, in minutes.")
    var minutes: Double = 10

    @Option(help: "Seed of the fault schedule (default: random, printed).")
    var seed: UInt64?

    @Option(help: "Codec: json or msgpack.")
    var codec: String = "msgpack"

    @Option(help: "Seconds between progress lines.")
    var reportInterval: Int = 10

    @Option(help: "Rounds counted as warm-up before the RSS baseline is taken.")
    var warmupRounds: Int = 2

    @Option(help: "Allowed RSS growth after warm-up, in percent.")
    var rssGrowthPercent: Double = 10

    func run() async throws {
        let seed = self.seed ?? UInt64.random(in: .min ... .max)
        let codec: any RiverCodec = codec == "json" ? JSONCodec() : MessagePackCodec()
        say("river-soak: \(minutes) min, codec \(codec.name), seed \(seed) (rerun with --seed \(seed))")
        let totals = SoakTotals()
        let deadline = ContinuousClock.now + .seconds(minutes * 60)
        let started = ContinuousClock.now
        let interval = reportInterval

        let outcome = try await withThrowingTaskGroup(of: SoakOutcome?.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: .seconds(interval))
                    let elapsed = ContinuousClock.now - started
                    say(
                        "[\(elapsed.components.seconds)s] calls \(totals.calls) · cuts survived \(totals.cuts) · "
                            + "lost \(totals.lost) · rounds \(totals.rounds) · RSS \(residentMegabytes()) MB")
                }
            }
            group.addTask {
                var round = 0
                var baseline: Int?
                var problems: [String] = []
                while ContinuousClock.now < deadline {
                    let roundSeed = seed &+ UInt64(round)
                    let report = try await Self.round(codec: codec, seed: roundSeed, totals: totals)
                    round += 1
                    totals.finishRound(lost: report.lost)
                    if !report.isClean {
                        problems += report.problems.map { "round \(round) (seed \(roundSeed)): \($0)" }
                    }
                    if round == warmupRounds { baseline = trimmedResidentBytes() }
                }
                return SoakOutcome(rounds: round, baseline: baseline, final: trimmedResidentBytes(), problems: problems)
            }
            let outcome = try await group.next() ?? nil
            group.cancelAll()
            return outcome
        }
        guard let outcome else { throw ExitCode.failure }
        say(
            "river-soak done: \(outcome.rounds) rounds, calls \(totals.calls), cuts survived \(totals.cuts), lost \(totals.lost)")
        var failed = false
        for problem in outcome.problems { say("LOST: \(problem)") }
        if totals.lost > 0 || !outcome.problems.isEmpty { failed = true }
        if let baseline = outcome.baseline {
            let growth = Double(outcome.final - baseline) / Double(max(baseline, 1)) * 100
            say("RSS (trimmed) after warm-up \(baseline >> 20) MB, at the end \(outcome.final >> 20) MB (\(Int(growth.rounded()))%)")
            if growth > rssGrowthPercent {
                say("FAIL: RSS grew more than \(rssGrowthPercent)% after warm-up")
                failed = true
            }
        } else {
            say("note: fewer than \(warmupRounds) rounds ran; no RSS baseline (run longer)")
        }
        if failed { throw ExitCode.failure }
        say("OK")
    }

    /// How long each round's workload runs (at least).
    static let roundDuration: Duration = .seconds(30)

    /// One round: fresh server, proxy, client; the workload under a chaos monkey.
    static func round(codec: any RiverCodec, seed: UInt64, totals: SoakTotals) async throws -> ChaosReport {
        let serverConfiguration = RiverTestServer.Configuration(codec: codec, timings: ChaosSettings.serverTimings)
        return try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { _, port in
            try await ChaosProxy.with(upstreamPort: port) { proxy in
                var configuration = RiverClient.Configuration(
                    serverID: serverConfiguration.serverID, codec: codec, randomSeed: seed)
                ChaosSettings.configureClient(&configuration)
                totals.setProxy(proxy)
                defer { totals.setProxy(nil) }
                let progress = totals.progress
                let report = try await withRiverClient(
                    connector: try WebSocketConnector(url: "ws://127.0.0.1:\(proxy.port)"), configuration: configuration
                ) { client in
                    await withTaskGroup(of: ChaosReport?.self) { group in
                        group.addTask {
                            await ChaosMonkey(seed: seed).run(proxy: proxy)
                            return nil
                        }
                        group.addTask { await ChaosWorkload(minimumDuration: roundDuration).run(client: client, progress: progress) }
                        var report = ChaosReport()
                        for await finished in group {
                            if let finished {
                                report = finished
                                group.cancelAll()
                            }
                        }
                        return report
                    }
                }
                totals.addCuts(proxy.statistics.cuts)
                return report
            }
        }
    }
}

struct SoakOutcome: Sendable {
    var rounds: Int
    var baseline: Int?
    var final: Int
    var problems: [String]
}

/// Running totals across rounds.
final class SoakTotals: Sendable {
    private let state = Mutex<(cuts: Int, lost: Int, rounds: Int)>((0, 0, 0))
    private let proxy = Mutex<ChaosProxy?>(nil)
    /// Calls and stream messages completed, across rounds.
    let progress = ChaosProgress()
    var calls: Int { progress.callsCompleted }
    /// Cuts of finished rounds plus the running round's.
    var cuts: Int { state.withLock { $0.cuts } + (proxy.withLock { $0?.statistics.cuts } ?? 0) }
    var lost: Int { state.withLock { $0.lost } }
    var rounds: Int { state.withLock { $0.rounds } }
    func setProxy(_ current: ChaosProxy?) { proxy.withLock { $0 = current } }
    func addCuts(_ n: Int) { state.withLock { $0.cuts += n } }
    func finishRound(lost: Int) {
        state.withLock {
            $0.lost += lost
            $0.rounds += 1
        }
    }
}

/// Resident set size after returning freed heap memory to the system (`malloc_trim(0)` on
/// glibc), for the leak check at round boundaries. glibc keeps the freed pages of its
/// per-thread arenas resident, so plain RSS after a burst stays high without any leak (with
/// `MALLOC_ARENA_MAX=1` it falls back to the baseline every round); trimmed RSS follows live
/// memory.
func trimmedResidentBytes() -> Int {
    #if os(Linux)
    // malloc_trim is in malloc.h, which the Glibc module does not import.
    if let symbol = dlsym(nil, "malloc_trim") {
        let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        _ = trim(0)
    }
    #endif
    return residentBytes()
}

/// Resident set size in bytes, from /proc/self/statm (0 where unavailable).
func residentBytes() -> Int {
    #if os(Linux)
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n > 0 else { return 0 }
    let fields = String(decoding: buffer[0..<n], as: UTF8.self).split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    #else
    return 0
    #endif
}

func residentMegabytes() -> Int { residentBytes() >> 20 }

/// Prints a line straight to stdout (unbuffered, so progress shows when piped to a file).
func say(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(STDOUT_FILENO, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
            if n <= 0 { return }
            offset += n
        }
    }
}

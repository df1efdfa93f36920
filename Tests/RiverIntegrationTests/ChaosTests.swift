import River
import RiverChaos
import RiverTestServer
import RiverWebSocket
import Testing

/// The client over WebSocket through a fault-injecting TCP proxy that cuts connections at
/// seeded random intervals (RST both ways, or a blackhole that is cut later), while the chaos
/// workload runs for at least 12 s per codec: at least 5,120 `ordering.add` rpcs from 8 tasks,
/// an echo stream of at least 1,000 messages and an upload of at least 1,000 values. Nothing may
/// be lost, duplicated or reordered, and no call may fail.
///
/// Reproduce a run with `RIVER_CHAOS_SEED=<seed>` (the seed is printed).
@Suite("Chaos: random network faults", .serialized, .timeLimit(.minutes(2)))
struct ChaosTests {
    @Test(arguments: ["json", "msgpack"])
    func workloadSurvivesRandomCutsAndBlackholes(codecName: String) async throws {
        let codec: any RiverCodec = codecName == "json" ? JSONCodec() : MessagePackCodec()
        let seed = ChaosSettings.seed(fallback: codecName == "json" ? 0xC4A0_5EED : 0x5EED_C4A0)
        print("ChaosTests(\(codecName)): seed \(seed) (RIVER_CHAOS_SEED=\(seed) reproduces the fault schedule)")
        let serverConfiguration = RiverTestServer.Configuration(codec: codec, timings: ChaosSettings.serverTimings)
        try await RiverTestServer.withRunningServer(configuration: serverConfiguration) { _, port in
            try await ChaosProxy.with(upstreamPort: port) { proxy in
                var configuration = RiverClient.Configuration(
                    serverID: serverConfiguration.serverID, codec: codec, randomSeed: seed)
                ChaosSettings.configureClient(&configuration)
                let workload = ChaosWorkload(minimumDuration: .seconds(12))
                let started = ContinuousClock.now
                let (report, destroyed) = try await withRiverClient(
                    connector: try WebSocketConnector(url: "ws://127.0.0.1:\(proxy.port)"), configuration: configuration
                ) { client in
                    let events = client.events()
                    // Collect session losses as they happen (ends when the client closes).
                    async let destroyedReasons: [String] = {
                        var destroyed: [String] = []
                        for await event in events {
                            if case .sessionStatus(.destroyed(_, let reason)) = event, !reason.hasPrefix("clientClosed") {
                                destroyed.append(reason)
                            }
                        }
                        return destroyed
                    }()
                    let report = await withTaskGroup(of: ChaosReport?.self) { group in
                        group.addTask {
                            await ChaosMonkey(seed: seed).run(proxy: proxy)
                            return nil
                        }
                        group.addTask { await workload.run(client: client) }
                        var report = ChaosReport()
                        for await finished in group {
                            if let finished {
                                report = finished
                                group.cancelAll()
                            }
                        }
                        return report
                    }
                    client.close()
                    return (report, await destroyedReasons)
                }
                let statistics = proxy.statistics
                print(
                    "ChaosTests(\(codecName)): survived \(statistics.cuts) cuts (\(statistics.resets) resets, "
                        + "\(statistics.blackholes) blackholes) over \(statistics.accepted) connections in "
                        + "\(ContinuousClock.now - started); \(report.rpcsCompleted) rpcs, \(report.echoed) echoes, "
                        + "\(report.uploaded) uploaded")
                #expect(destroyed.isEmpty, "the session must survive every fault: \(destroyed)")
                #expect(report.problems.isEmpty, "\(report.problems.joined(separator: "\n"))")
                #expect(report.lost == 0)
                #expect(report.rpcsCompleted == report.rpcsSent)
                #expect(report.rpcsCompleted >= workload.totalRPCs)
                #expect(report.echoed == report.echoSent)
                #expect(report.echoed >= workload.echoMessages)
                #expect(report.uploaded == report.uploadSent)
                #expect(report.uploaded >= workload.uploadValues)
                #expect(statistics.cuts >= 1, "at least one fault must have hit a live connection")
            }
        }
    }
}

import Logging
import River
import RiverProtobuf
import RiverProtobufTestService
import RiverTestServer
import RiverWebSocket

extension RiverBench {
    /// `proto_rpc_seq`: `seq` back-to-back unary `river.test.TestService/Echo` calls over
    /// ProtoCodec, through the generated client, against an in-process protobuf-mode test
    /// server of its own (the codec differs from the other scenarios'; `--url` is not used).
    func protobufRPCSequential(into figures: inout [Metric: Double]) async throws {
        let calls = seq
        let warmupCalls = warmup
        let (latencies, elapsed) = try await RiverTestServer.withRunningServer(
            configuration: .init(codec: ProtoCodec(), mode: .protobuf),
            logger: logger(label: "river-bench.proto-server")
        ) { _, port in
            let configuration = RiverClient.Configuration(serverID: RiverTestServer.standardServerID, codec: ProtoCodec())
            return try await withRiverClient(connector: WebSocketConnector(url: "ws://127.0.0.1:\(port)"), configuration: configuration) {
                client in
                let test = River_Test_TestService.Client(client)
                var request = River_Test_EchoRequest()
                request.text = "bench"
                for _ in 0..<warmupCalls { _ = try await test.echo(request) }
                var samples: [UInt64] = []
                samples.reserveCapacity(calls)
                let start = nowNanos()
                for _ in 0..<calls {
                    let before = nowNanos()
                    let reply = try await test.echo(request)
                    samples.append(nowNanos() - before)
                    guard reply.text == "BENCH" else { throw BenchFailure("Echo answered '\(reply.text)'") }
                }
                return (Latencies(samples), Double(nowNanos() - start) / 1e9)
            }
        }
        figures[.proto_rpc_seq_p50_us] = latencies.percentile(0.50)
        figures[.proto_rpc_seq_p99_us] = latencies.percentile(0.99)
        figures[.proto_rpc_seq_calls_per_s] = Double(calls) / elapsed
    }
}

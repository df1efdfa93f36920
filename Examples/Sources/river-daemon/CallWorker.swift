import Logging
import River
import ServiceLifecycle
import Tracing

/// The daemon's own work: a service that calls River procedures, each inside a span of its
/// own (`work`), so every River call span is a child of it. It makes `calls` rounds, then
/// returns, which shuts the service group down gracefully.
struct CallWorker: Service {
    struct AddInit: Codable, Sendable { var n: Double }
    struct AddOutput: Codable, Sendable { var result: Double }
    struct DivideInit: Codable, Sendable { var a: Double, b: Double }
    struct DivideOutput: Codable, Sendable { var result: Double }

    static let add = RPCProcedure<AddInit, AddOutput, RiverServiceError>(service: "test", procedure: "add")
    static let divide = RPCProcedure<DivideInit, DivideOutput, RiverServiceError>(service: "fallible", procedure: "divide")

    let client: RiverClient
    let calls: Int
    let logger: Logger

    func run() async throws {
        for round in 1 ... max(calls, 1) {
            try await withSpan("work \(round)") { _ in
                let sum = try await client.rpc(Self.add, AddInit(n: Double(round))).get()
                logger.info("added", metadata: ["round": "\(round)", "total": "\(sum.result)"])
                // A service error: recorded on the call's span (river.error_code).
                if case .failure(let error) = try await client.rpc(Self.divide, DivideInit(a: 1, b: 0)) {
                    logger.info("divide refused", metadata: ["code": "\(error.code)"])
                }
            }
        }
    }
}

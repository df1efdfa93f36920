import InMemoryLogging
import Logging
import River
import RiverReferenceClient
import RiverTestServer
import Testing

@Suite("Logging", .timeLimit(.minutes(1)))
struct LoggingTests {
    typealias Key = RiverLogMetadataKey

    @Test func callsLogTheirStartAndEndAtDebugWithDottedMetadata() async throws {
        let (logger, handler) = Self.capturingLogger(level: .debug)
        let server = RiverTestServer(configuration: .init(codec: JSONCodec(), timings: .patient))
        try await server.withInMemoryConnector { connector in
            try await withRiverClient(connector: connector, configuration: RiverClient.Configuration(codec: JSONCodec()).patient(), logger: logger) { client in
                _ = try await ReferenceServices.Test.Client(client).add(.init(n: 1)).get()
                _ = try? await client.rpc(
                    ReferenceServices.Cancel.BlockingRpc.procedure, .init(), options: CallOptions(timeout: .milliseconds(50)))
            }
        }
        let entries = handler.entries
        let started = try #require(entries.first { $0.message == "river call started" })
        #expect(started.level == .debug)
        #expect(started.metadata[Key.procedure] == "test.add")
        #expect(started.metadata[Key.methodKind] == "rpc")
        let streamID = try #require(started.metadata[Key.streamID])
        let finished = try #require(entries.first { $0.message == "river call finished" && $0.metadata[Key.streamID] == streamID })
        #expect(finished.level == .debug)
        #expect(finished.metadata[Key.result] == "OK")
        #expect(finished.metadata[Key.sessionID]?.description.hasPrefix("session-") == true)
        #expect(finished.metadata[Key.durationMilliseconds] != nil)
        let failed = try #require(entries.first { $0.message == "river call finished" && $0.metadata[Key.procedure] == "cancel.blockingRpc" })
        #expect(failed.metadata[Key.result] == "DEADLINE_EXCEEDED")
        #expect(failed.metadata[Key.errorCode] == "DEADLINE_EXCEEDED")
        let closed = try #require(entries.last { $0.message == "river session destroyed" })
        #expect(closed.level == .info, "closing the client is not a warning")
        #expect(closed.metadata[Key.reason] == "clientClosed: the client was closed")
    }

    @Test func connectionAndSessionChangesLogOneLineEachWithTheirCause() async throws {
        let (logger, handler) = Self.capturingLogger(level: .info)
        let server = RiverTestServer(configuration: .init(codec: MessagePackCodec(), timings: .patient))
        try await server.withInMemoryConnector { connector in
            try await withRiverClient(connector: connector, configuration: RiverClient.Configuration(codec: MessagePackCodec()).patient(), logger: logger) { client in
                let events = client.events()
                _ = try await ReferenceServices.Test.Client(client).add(.init(n: 1)).get()
                _ = server.dropAllConnections()
                try await waitFor(events) { if case .sessionStatus(.resumed) = $0 { true } else { false } }
                client.hardDisconnect()
            }
        }
        let lines = handler.entries.map { "\($0.level) \($0.message)" }
        #expect(
            lines == [
                "info river session created",
                "info river connected",
                "warning river connection lost",
                "info river connected",
                "info river session resumed",
                "warning river session destroyed",
            ], "nothing below info at info, nothing twice")
        let entries = handler.entries
        for entry in entries {
            #expect(entry.metadata[Key.serverID] == "SERVER", "\(entry.message)")
            #expect(entry.metadata[Key.sessionID]?.description.hasPrefix("session-") == true, "\(entry.message)")
        }
        #expect(entries[2].metadata[Key.reason] != nil, "a lost connection says why")
        #expect(entries[5].metadata[Key.reason] == "hardDisconnect: hardDisconnect() was called")
        #expect(entries[4].metadata[Key.replayed] != nil)
    }

    @Test func aHandshakeFailureIsAWarningWithItsCode() async throws {
        let (logger, handler) = Self.capturingLogger(level: .info)
        let server = RiverTestServer(configuration: .init(codec: JSONCodec(), mode: .handshake, timings: .patient))
        try await server.withInMemoryConnector { connector in
            var configuration = RiverClient.Configuration(serverID: RiverTestServer.handshakeServerID, codec: JSONCodec()).patient()
            configuration.handshakeMetadata = { ["token": "wrong"] }
            try await withRiverClient(connector: connector, configuration: configuration, logger: logger) { client in
                let events = client.events()
                client.connect()
                try await waitFor(events) {
                    if case .protocolError(let error) = $0, case .handshakeFailed = error.kind { true } else { false }
                }
            }
        }
        let failure = try #require(handler.entries.first { $0.message == "river protocol error" })
        #expect(failure.level == .warning)
        #expect(failure.metadata[Key.errorCode] == "REJECTED_BY_CUSTOM_HANDLER")
        #expect(failure.metadata[Key.errorMessage] != nil)
    }

    static func capturingLogger(level: Logger.Level) -> (Logger, InMemoryLogHandler) {
        var handler = InMemoryLogHandler()
        handler.logLevel = level
        let captured = handler
        var logger = Logger(label: "river.test") { _ in captured }
        logger.logLevel = level
        return (logger, handler)
    }
}

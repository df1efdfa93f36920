import Foundation
import River
import RiverTestProcess
import RiverWebSocket
import Synchronization
import Testing

/// The `river-test-server` executable, next to the test bundle (`swift test` builds every
/// product first), or `RIVER_TEST_SERVER` when set.
enum ServerExecutable {
    static let url: URL? = {
        if let explicit = ProcessInfo.processInfo.environment["RIVER_TEST_SERVER"] { return URL(fileURLWithPath: explicit) }
        var directories = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        return directories.lazy
            .map { $0.appendingPathComponent("river-test-server") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()
}

/// Lines a child process writes to one pipe, readable with a deadline.
final class ServerPipeLines: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var lines: [String] = []
    }
    private let state = Mutex(State())

    init(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let data = handle.availableData
            state.withLock { state in
                state.pending.append(contentsOf: data)
                while let newline = state.pending.firstIndex(of: UInt8(ascii: "\n")) {
                    state.lines.append(String(decoding: state.pending[..<newline], as: UTF8.self))
                    state.pending.removeSubrange(...newline)
                }
            }
            if data.isEmpty { handle.readabilityHandler = nil }
        }
    }

    /// Waits for (and consumes up to) the first line with `prefix`.
    func line(startingWith prefix: String, within deadline: Duration = eventDeadline) async throws -> String {
        var found: String?
        try await waitUntil("a line starting with \(prefix)", within: deadline) {
            found = state.withLock { state in
                guard let index = state.lines.firstIndex(where: { $0.hasPrefix(prefix) }) else { return nil }
                let line = state.lines[index]
                state.lines.removeSubrange(...index)
                return line
            }
            return found != nil
        }
        return found ?? ""
    }
}

@Suite("Server executable")
struct ServerExecutableTests {
    @Test(.enabled(if: ServerExecutable.url != nil, "river-test-server was not built"))
    func printsPortServesAndObeysStdinCommands() async throws {
        let executable: URL = try #require(ServerExecutable.url)
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--codec", "msgpack", "--heartbeat-ms", "30000", "--handshake-timeout-ms", "30000"]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let out = ServerPipeLines(stdout)
        let err = ServerPipeLines(stderr)
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let portLine = try await out.line(startingWith: "RIVER_PORT=")
        let port = try #require(Int(portLine.dropFirst("RIVER_PORT=".count)))

        let codec = MessagePackCodec()
        let connection = try await WebSocketConnector(url: "ws://127.0.0.1:\(port)").connect(timeout: .seconds(30))
        var events = connection.events.makeAsyncIterator()
        let sessionID = RiverID.generateSessionID()
        connection.send(
            try codec.encode(
                TransportMessage(
                    id: RiverID.generate(), from: "exe-client", to: "SERVER", seq: 0, ack: 0, streamId: RiverID.generate(),
                    controlFlags: [],
                    payload: ControlPayload.handshakeRequest(
                        HandshakeRequest(sessionId: sessionID, expectedSessionState: .init(nextExpectedSeq: 0, nextSentSeq: 0))
                    ).value,
                    tracing: .empty)))
        guard case .message(let response)? = await events.next() else {
            Issue.record("no handshake response")
            return
        }
        #expect(try ControlPayload.parse(try codec.decode(response).payload) == .handshakeResponse(.ok(sessionId: sessionID)))

        stdin.fileHandleForWriting.write(Data("status\ndrop\nbogus\n".utf8))
        #expect(try await err.line(startingWith: "ok connections=").contains("sessions=1"))
        #expect(try await err.line(startingWith: "ok dropped") == "ok dropped 1")
        #expect(try await err.line(startingWith: "error:").contains("bogus"))
        while let event = await events.next() {
            if case .closed(let closure) = event {
                #expect(closure.code == nil || closure.code == 1006, "dropped without a close frame: \(closure)")
                break
            }
        }

        process.interrupt()  // SIGINT
        try await waitUntil("the server exited") { !process.isRunning }
        #expect(process.terminationStatus == 0)
    }
}

@Suite("Server executable schema")
struct ServerExecutableSchemaTests {
    @Test(
        .enabled(if: ServerExecutable.url != nil, "river-test-server was not built"),
        arguments: [([String](), "reference-services.json"), (["--handshake"], "reference-services-handshake.json")])
    func printsItsSchemaEqualToTheReference(arguments: [String], fixture: String) async throws {
        let executable: URL = try #require(ServerExecutable.url)
        let run = try await ChildProcess.run(executable, arguments + ["--print-schema"])
        #expect(run.status == 0)
        let printed = run.stdout
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/schemas/\(fixture)")
        let expected = try JSONCodec().decodeValue(Array(try Data(contentsOf: fixtures)))
        #expect(try JSONCodec().decodeValue(Array(printed)) == expected)
    }
}

import Foundation
import Logging
import River
import RiverTestProcess
import RiverTestServer
import Synchronization
import Testing

/// Where the `river` executable the tests run lives: `RIVER_CLI` when set, else next to the
/// test bundle in the build products directory (`swift test` builds every product first),
/// else the usual scratch paths under the package root.
enum RiverBinary {
    static let url: URL? = {
        let fileManager = FileManager.default
        if let explicit = ProcessInfo.processInfo.environment["RIVER_CLI"] { return URL(fileURLWithPath: explicit) }
        var directories: [URL] = [
            Bundle.main.bundleURL,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        // macOS: .build/debug/river-swiftPackageTests.xctest/Contents/MacOS/...
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for scratch in [".build-cli", ".build"] {
            directories.append(root.appendingPathComponent(scratch).appendingPathComponent("debug"))
        }
        return directories.lazy
            .map { $0.appendingPathComponent("river") }
            .first { fileManager.isExecutableFile(atPath: $0.path) }
    }()
}

/// The fixtures directory.
enum Fixtures {
    static let referenceSchema = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/schemas/reference-services.json").path
}

/// How a `river` run ended.
struct CLIResult: Sendable, CustomStringConvertible {
    var status: Int32
    var exitedNormally: Bool
    var stdout: String
    var stderr: String

    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// Each stdout line parsed as JSON.
    func stdoutValues() throws -> [RiverValue] {
        try stdoutLines.map { try JSONCodec().decodeValue(Array($0.utf8)) }
    }

    var description: String { "status \(status)\(exitedNormally ? "" : " (signalled)")\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}

/// A running `river` process with captured output.
// @unchecked Sendable: `process` is configured and started in init, before the value is
// shared; afterwards only its thread-safe members (processIdentifier, interrupt, terminate,
// isRunning, terminationStatus after exit) are used. Output buffers are Mutexes.
final class RiverCLIProcess: @unchecked Sendable {
    private let process = Process()
    /// Shared between the reader threads, the termination handler and the test.
    private final class State: Sendable {
        let stdout = Mutex(Data())
        let stderr = Mutex(Data())
        let exited = Mutex(false)
        let closedOutputs = Mutex(0)
    }

    private let state = State()
    private let stdinPipe = Pipe()

    /// Starts `river arguments…`.
    /// - Parameters:
    ///   - arguments: The arguments.
    ///   - input: Written to stdin, which is then closed; `nil` keeps stdin open until
    ///     ``closeInput()``.
    init(_ arguments: [String], input: String? = "") throws {
        let binary = try #require(RiverBinary.url, "the river executable was not built")
        process.executableURL = binary
        process.arguments = Self.patient(arguments)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdinPipe
        let state = self.state
        process.terminationHandler = { _ in state.exited.withLock { $0 = true } }
        try process.run()
        Self.drain(out.fileHandleForReading, state: state, stdout: true)
        Self.drain(err.fileHandleForReading, state: state, stdout: false)
        if let input {
            stdinPipe.fileHandleForWriting.write(Data(input.utf8))
            closeInput()
        }
    }

    /// The calling subcommands get `--connect-timeout 30` unless the test sets one: a parallel
    /// `swift test` on a loaded 2-core machine delays the in-process test server by seconds,
    /// and the default 2 s connect timeout (with its 5 s grace period) would fail the call, and
    /// the 2 s close grace would reset the connection before the server read a CANCEL.
    private static func patient(_ arguments: [String]) -> [String] {
        guard let subcommand = arguments.first, ["call", "subscribe", "upload", "stream"].contains(subcommand),
            !arguments.contains("--connect-timeout")
        else { return arguments }
        return [subcommand, "--connect-timeout", "30"] + arguments.dropFirst()
    }

    private static func drain(_ handle: FileHandle, state: State, stdout: Bool) {
        Thread.detachNewThread {
            // Not `availableData`, which is a fatal error when a signal interrupts its read.
            PipeReading.readToEnd(handle) { chunk in
                if stdout {
                    state.stdout.withLock { $0.append(chunk) }
                } else {
                    state.stderr.withLock { $0.append(chunk) }
                }
            }
            state.closedOutputs.withLock { $0 += 1 }
        }
    }

    /// Writes to stdin.
    func write(_ text: String) {
        stdinPipe.fileHandleForWriting.write(Data(text.utf8))
    }

    /// Closes stdin.
    func closeInput() {
        try? stdinPipe.fileHandleForWriting.close()
    }

    /// What stdout holds so far.
    var currentStdout: String { String(decoding: state.stdout.withLock { $0 }, as: UTF8.self) }

    /// What stderr holds so far.
    var currentStderr: String { String(decoding: state.stderr.withLock { $0 }, as: UTF8.self) }

    /// Waits until stderr contains `text`.
    func waitForStderr(containing text: String, timeout: Duration = .seconds(60)) async throws {
        try await waitFor("stderr to contain \(text)", timeout: timeout) { self.currentStderr.contains(text) }
    }

    /// Sends SIGINT.
    func interrupt() { process.interrupt() }

    /// Sends SIGTERM.
    func terminate() { process.terminate() }

    /// Waits until stdout has `count` complete lines.
    func waitForStdoutLines(_ count: Int, timeout: Duration = .seconds(60)) async throws {
        try await waitFor("\(count) stdout line(s)", timeout: timeout) {
            self.currentStdout.filter { $0 == "\n" }.count >= count
        }
    }

    /// Waits for the process to exit (and its output to be read), killing it after `timeout`.
    func finish(timeout: Duration = .seconds(90)) async throws -> CLIResult {
        do {
            try await waitFor("river to exit", timeout: timeout) { self.state.exited.withLock { $0 } }
        } catch {
            kill(process.processIdentifier, SIGKILL)
            throw error
        }
        // The pipes reach end of file once the process is gone.
        try await waitFor("river's output to be read", timeout: .seconds(5)) {
            self.state.closedOutputs.withLock { $0 } == 2
        }
        let status = process.terminationStatus
        let normal = process.terminationReason == .exit
        return CLIResult(
            status: status, exitedNormally: normal,
            stdout: String(decoding: state.stdout.withLock { $0 }, as: UTF8.self),
            stderr: String(decoding: state.stderr.withLock { $0 }, as: UTF8.self))
    }
}

/// Runs `river arguments…` to completion.
func runRiver(_ arguments: [String], input: String = "", timeout: Duration = .seconds(90)) async throws -> CLIResult {
    try await RiverCLIProcess(arguments, input: input).finish(timeout: timeout)
}

/// Waits until `condition` holds, or fails after `timeout`.
func waitFor(
    _ what: String, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: @Sendable () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now >= deadline {
            Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Runs a test server on 127.0.0.1, port 0, for the duration of `body`.
func withServer<Value: Sendable>(
    codec: String = "json", mode: RiverTestServer.Mode = .standard,
    _ body: (RiverTestServer, String) async throws -> Value
) async throws -> Value {
    let riverCodec: any RiverCodec = codec == "json" ? JSONCodec() : MessagePackCodec()
    // Patient server timings: a parallel `swift test` on a loaded 2-core machine delays this
    // process's timers by seconds; the `river` under test must not lose its session for that.
    let timings = RiverTestServer.Timings(
        heartbeatInterval: .seconds(1), heartbeatsUntilDead: 30,
        sessionDisconnectGrace: .seconds(60), handshakeTimeout: .seconds(30))
    return try await RiverTestServer.withRunningServer(
        configuration: .init(codec: riverCodec, mode: mode, timings: timings),
        logger: Logger(label: "cli-test-server", factory: { _ in SwiftLogNoOpLogHandler() })
    ) { server, port in
        try await body(server, "ws://127.0.0.1:\(port)")
    }
}

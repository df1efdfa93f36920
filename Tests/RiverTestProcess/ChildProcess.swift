public import Foundation
import Synchronization

/// Runs a child process to its end for a test without holding a thread of Swift's cooperative
/// pool: the process is started, read and waited for on threads of its own (``OwnThread``)
/// while the calling task is suspended (a `swiftc` type-check takes seconds).
public enum ChildProcess {
    /// How a child process ended and what it printed.
    public struct Outcome: Sendable {
        /// The exit status (or the signal number when ``exitedNormally`` is `false`).
        public var status: Int32
        /// Whether the process exited (rather than being killed by a signal).
        public var exitedNormally: Bool
        /// Everything it wrote to standard output.
        public var stdout: Data
        /// Everything it wrote to standard error.
        public var stderr: Data

        /// Standard output as UTF-8 text.
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        /// Standard error as UTF-8 text.
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs `executable arguments…` with an empty standard input and returns once it has
    /// exited and both of its outputs are read to the end.
    /// - Throws: What `Process.run()` throws when the executable cannot be started.
    public static func run(_ executable: URL, _ arguments: [String]) async throws -> Outcome {
        try await OwnThread.run { try runOnThisThread(executable, arguments) }
    }

    /// The blocking part of ``run(_:_:)``: on a thread that is not the pool's.
    private static func runOnThisThread(_ executable: URL, _ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Both pipes are drained at once: a child filling one while the other is read would hang.
        let errors = Mutex(Data())
        let errorsRead = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = PipeReading.readAll(stderr.fileHandleForReading)
            errors.withLock { $0 = data }
            errorsRead.signal()
        }
        let output = PipeReading.readAll(stdout.fileHandleForReading)
        errorsRead.wait()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, exitedNormally: process.terminationReason == .exit,
            stdout: output, stderr: errors.withLock { $0 })
    }
}

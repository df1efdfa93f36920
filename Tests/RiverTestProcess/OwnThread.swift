import Foundation

/// Blocking work (a socket read, a child process) run on a thread of its own while the calling
/// task is suspended.
///
/// `swift test` runs every test of the package in one process, on a pool with one thread per
/// core. A test that blocks a pool thread (a read that waits seconds for a peer) starves every
/// other test's tasks, timers and connections for that long: on a 2-core machine two such reads
/// stall the whole suite.
public enum OwnThread {
    /// Runs `work` on a new thread and returns (or throws) what it did.
    public static func run<Result: Sendable>(_ work: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result { try work() })
            }
        }
    }
}

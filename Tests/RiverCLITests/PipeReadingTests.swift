import Foundation
import RiverTestProcess
import Synchronization
import Testing

#if os(Linux)
/// The harness reads child processes' output with ``PipeReading``: a signal that interrupts a
/// blocked read (a child's `SIGCHLD`, taken by whichever thread) must not end the test process,
/// as Foundation's `availableData` does.
@Suite("Pipe reading", .timeLimit(.minutes(1)))
struct PipeReadingTests {
    @Test("a read interrupted by a signal is retried: every byte arrives, in order")
    func interruptedReadIsRetried() async throws {
        // A handler without SA_RESTART, so the blocked read fails with EINTR.
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        var previous = sigaction()
        sigaction(SIGUSR2, &action, &previous)
        defer { sigaction(SIGUSR2, &previous, nil) }

        let pipe = Pipe()
        let reader = Mutex<(thread: pthread_t?, task: String?, data: Data, done: Bool)>((nil, nil, Data(), false))
        Thread.detachNewThread {
            // Threads started from the cooperative pool inherit its blocked signals.
            var unblocked = sigset_t()
            sigemptyset(&unblocked)
            sigaddset(&unblocked, SIGUSR2)
            pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
            // "PID/task/TID": where /proc shows this thread's current system call.
            let task = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")
            reader.withLock { $0.thread = pthread_self(); $0.task = task }
            let data = PipeReading.readAll(pipe.fileHandleForReading)
            reader.withLock { $0.data = data; $0.done = true }
        }
        // Wait until the reader sits in read(2) (system call 0 in /proc), then interrupt it.
        try await waitFor("the reader blocked in read", timeout: .seconds(20)) {
            guard let task = reader.withLock({ $0.task }),
                let text = try? String(contentsOfFile: "/proc/\(task)/syscall", encoding: .utf8)
            else { return false }
            return text.hasPrefix("0 ")
        }
        let thread = try #require(reader.withLock { $0.thread })
        pthread_kill(thread, SIGUSR2)
        let payload = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        pipe.fileHandleForWriting.write(payload)
        try pipe.fileHandleForWriting.close()
        try await waitFor("the reader reached end of file", timeout: .seconds(20)) { reader.withLock { $0.done } }
        #expect(reader.withLock { $0.data } == payload)
    }
}
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Task wake-ups an I/O thread causes, gathered and resumed together once per pass of its
/// event loop instead of one at a time as each inbound frame is handled.
///
/// Resuming a task hands it to the global executor, which wakes a parked worker thread
/// whenever its queue goes from empty to non-empty. Spread over a pass, the replies of one
/// read wake workers again and again as they drain the queue between frames; resumed together,
/// the batch wakes them about once. One thread per batch (the connection layer's I/O thread)
/// batches; on every other thread ``resume(_:)`` resumes at once.
package final class WakeupBatch: Sendable {
    /// The batch of the connection layer's I/O thread (the one ``ClientTransport`` uses).
    package static let shared = WakeupBatch()

    /// The batching thread's `pthread_self()`, 0 when none.
    private let owner = Atomic<UInt>(0)
    /// Only the owner thread appends and flushes; the lock is never contended.
    private let pending = Mutex<[UnsafeContinuation<Void, Never>]>([])

    /// A batch no thread has adopted yet.
    package init() {}

    /// Makes the calling thread the batching thread: from now on its wake-ups wait for
    /// ``flush()``, which it must call after every pass of its event loop.
    package func adoptCurrentThread() {
        owner.store(ThreadIdentity.current, ordering: .releasing)
    }

    /// Resumes `task`, or defers it to the next ``flush()`` on the batching thread.
    package func resume(_ task: UnsafeContinuation<Void, Never>) {
        if owner.load(ordering: .acquiring) == ThreadIdentity.current {
            pending.withLock { $0.append(task) }
        } else {
            task.resume()
        }
    }

    /// How many wake-ups wait for ``flush()``.
    package var deferredCount: Int { pending.withLock { $0.count } }

    /// Where the deferred wake-ups are stored (for tests: the storage is reused from batch to
    /// batch), nil before the first.
    package var storageAddress: UnsafeRawPointer? {
        pending.withLock { $0.capacity == 0 ? nil : $0.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }
    }

    /// Resumes every deferred task, in the order they were deferred.
    package func flush() {
        // The array's storage is moved out and handed back once emptied, so a steady flow of
        // batches allocates nothing (copying it out and emptying the original in place made
        // the original allocate a new buffer for every batch).
        var tasks = pending.withLock { pending -> [UnsafeContinuation<Void, Never>] in
            guard !pending.isEmpty else { return [] }
            var taken: [UnsafeContinuation<Void, Never>] = []
            swap(&taken, &pending)
            return taken
        }
        guard !tasks.isEmpty else { return }
        for task in tasks { task.resume() }
        tasks.removeAll(keepingCapacity: true)
        pending.withLock { pending in
            if pending.isEmpty { swap(&tasks, &pending) }
        }
    }
}

/// The calling thread's `pthread_self()` as an integer, to compare threads through an atomic.
package enum ThreadIdentity {
    /// The calling thread's identity (never 0).
    package static var current: UInt {
        #if canImport(Darwin)
        UInt(bitPattern: pthread_self())
        #else
        UInt(pthread_self())
        #endif
    }
}

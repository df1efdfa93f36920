#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A lock around a value on a plain pthread mutex (adaptive where glibc offers it), for the
/// few hot locks that callers and the I/O thread contend for.
///
/// `Synchronization.Mutex` on Linux is a priority-inheritance futex: every contended unlock
/// hands the lock over through the kernel (`FUTEX_LOCK_PI`, swiftlang/swift#88440), which
/// made the client transport's lock a convoy under 64 concurrent callers. An adaptive mutex
/// spins briefly first and wakes a waiter without a handover.
// @unchecked Sendable: a C bridge to pthreads. `value` is only touched inside `withLock`,
// between pthread_mutex_lock and pthread_mutex_unlock; the mutex itself lives on the heap at a
// stable address for the lifetime of the object.
package final class AdaptiveMutex<Value: ~Copyable>: @unchecked Sendable {
    private var value: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    /// A lock guarding `value`.
    package init(_ value: consuming Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        #if canImport(Glibc)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        #endif
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    package func withLock<Result: ~Copyable, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

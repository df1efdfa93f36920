import Dispatch

/// One thread that runs the transports' timer callbacks at their deadlines, in place of a
/// Dispatch timer per arming.
///
/// `DispatchQueue.asyncAfter` makes a timer source per call, which Dispatch's manager thread
/// arms (`timerfd_settime`) and, when it fires, hands to a worker thread: two thread wake-ups
/// per deadline before the callback runs. With 500 idle sessions each re-arming its heartbeat
/// watchdog every second or two, those hops were a large part of the idle CPU. Here a heap of
/// deadlines is served by one thread that sleeps on a semaphore until the earliest is due
/// (plus `coalescing`, so deadlines close together fire in one wake-up) and runs the callbacks
/// itself. Callbacks must be short and must not block (the transport's only takes its lock and
/// re-arms or resumes its timer task).
package final class DeadlineTimerThread: Sendable {
    /// The process's timer thread (started on first use).
    package static let shared = DeadlineTimerThread()

    /// How late a deadline may fire so that it shares a wake-up with later ones (Dispatch
    /// allows a tenth of the delay; this is far less for the transports' 1–2 s deadlines).
    package static let coalescing: UInt64 = 10_000_000

    private struct Entry {
        var deadline: UInt64
        var order: UInt64
        /// Returns the deadline to run again at, if any (``scheduleRepeating(atUptimeNanoseconds:_:)``).
        var action: @Sendable () -> UInt64?
    }

    private struct State {
        /// A binary min-heap by deadline, then by scheduling order.
        var heap: [Entry] = []
        var nextOrder: UInt64 = 0
        /// The time the thread sleeps until (`nil`: it runs, or sleeps with nothing scheduled
        /// and must be woken).
        var sleepsUntil: UInt64?
        var started = false
    }

    /// An `AdaptiveMutex` (pthread), which ThreadSanitizer models, like the transport's lock.
    private let state = AdaptiveMutex(State())
    private let wake = DispatchSemaphore(value: 0)

    /// A timer thread (tests make their own; the transports share ``shared``).
    package init() {}

    /// Runs `action` on the timer thread once `uptimeNanoseconds` (a `DispatchTime` value) has
    /// passed, at most ``coalescing`` plus scheduling latency late.
    package func schedule(atUptimeNanoseconds deadline: UInt64, _ action: @escaping @Sendable () -> Void) {
        scheduleRepeating(atUptimeNanoseconds: deadline) {
            action()
            return nil
        }
    }

    /// Runs `action` on the timer thread once `uptimeNanoseconds` has passed, and again at
    /// whatever deadline it returns, until it returns `nil`. Running again takes no allocation
    /// and no call back into the thread: the entry goes back into the heap as it is (a
    /// transport's watchdog that traffic pushed later re-arms this way about once a second).
    package func scheduleRepeating(atUptimeNanoseconds deadline: UInt64, _ action: @escaping @Sendable () -> UInt64?) {
        let (start, signal) = state.withLock { state -> (Bool, Bool) in
            let entry = Entry(deadline: deadline, order: state.nextOrder, action: action)
            state.nextOrder &+= 1
            Self.push(entry, into: &state.heap)
            let start = !state.started
            state.started = true
            // Woken only when it would otherwise sleep past this deadline's coalescing window.
            var signal = false
            if !start, let sleepsUntil = state.sleepsUntil, deadline &+ Self.coalescing < sleepsUntil {
                state.sleepsUntil = nil
                signal = true
            }
            return (start, signal)
        }
        if start {
            do {
                try SystemThread.start(name: "river.timers", stackSize: 256 << 10) { [self] in run() }
            } catch {
                // Without it no deadline would ever fire (every call would hang): the process
                // is out of threads, which no caller can handle.
                preconditionFailure("River: cannot start its timer thread: \(error)")
            }
        } else if signal {
            wake.signal()
        }
    }

    /// Runs `action` once `deadline` on the continuous clock has passed.
    package func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) {
        schedule(atUptimeNanoseconds: Self.uptimeNanoseconds(deadline), action)
    }

    /// `deadline` on the continuous clock as a `DispatchTime` value (rounded up; a deadline
    /// past the end of that clock is its end).
    package static func uptimeNanoseconds(_ deadline: ContinuousClock.Instant) -> UInt64 {
        let nanoseconds = UInt64(max(0, ContinuousClock.now.duration(to: deadline).clampedNanoseconds))
        let (due, overflow) = DispatchTime.now().uptimeNanoseconds.addingReportingOverflow(nanoseconds &+ 1)
        return overflow ? .max : due
    }

    /// How many callbacks wait (for tests).
    package var scheduledCount: Int { state.withLock { $0.heap.count } }

    private func run() {
        var due: [Entry] = []
        var again: [Entry] = []
        while true {
            let sleepUntil = state.withLock { state -> UInt64? in
                // The entries that asked to run again, in the order they ran.
                for var entry in again {
                    entry.order = state.nextOrder
                    state.nextOrder &+= 1
                    Self.push(entry, into: &state.heap)
                }
                again.removeAll(keepingCapacity: true)
                let now = DispatchTime.now().uptimeNanoseconds
                while let first = state.heap.first, first.deadline <= now {
                    due.append(Self.popFirst(from: &state.heap))
                }
                if !due.isEmpty { return 0 }
                let until = state.heap.first.map { $0.deadline &+ Self.coalescing }
                state.sleepsUntil = until ?? UInt64.max
                return until
            }
            if sleepUntil == 0 {
                for var entry in due {
                    guard let next = entry.action() else { continue }
                    entry.deadline = next
                    again.append(entry)
                }
                due.removeAll(keepingCapacity: true)
                continue
            }
            if let sleepUntil {
                _ = wake.wait(timeout: DispatchTime(uptimeNanoseconds: sleepUntil))
            } else {
                wake.wait()
            }
            state.withLock { $0.sleepsUntil = nil }
        }
    }

    // The heap works on the array's buffer and compares entries by their keys in place:
    // copying an entry out of the array (subscript get, `Array.swapAt`) retained and released
    // its closure, which was most of the thread's time with 500 sessions' watchdogs.

    private static func push(_ entry: Entry, into heap: inout [Entry]) {
        heap.append(entry)
        heap.withUnsafeMutableBufferPointer { heap in
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard precedes(heap, child, parent) else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }
    }

    private static func popFirst(from heap: inout [Entry]) -> Entry {
        let last = heap.count - 1
        heap.swapAt(0, last)
        let first = heap.removeLast()
        heap.withUnsafeMutableBufferPointer { heap in
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { break }
                let right = left + 1
                var smallest = left
                if right < heap.count && precedes(heap, right, left) { smallest = right }
                guard precedes(heap, smallest, parent) else { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }

    /// Whether entry `a` of `heap` runs before entry `b` (by deadline, then scheduling order).
    @inline(__always)
    private static func precedes(_ heap: UnsafeMutableBufferPointer<Entry>, _ a: Int, _ b: Int) -> Bool {
        let (left, right) = (heap[a].deadline, heap[b].deadline)
        return left != right ? left < right : heap[a].order < heap[b].order
    }
}

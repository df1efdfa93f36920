import Dispatch
import Synchronization
import Testing

@testable import River

@Suite("Deadline timer thread", .timeLimit(.minutes(1)))
struct DeadlineTimerThreadTests {
    /// Callbacks scheduled out of order, some for the same instant and one already due, all
    /// run once, in deadline order (ties in scheduling order), none before its deadline. The
    /// future deadlines start 300 ms out, so that all are scheduled before the first is due
    /// even when the scheduling thread is preempted (the order must not depend on that).
    @Test("callbacks run once each, in deadline order, never early")
    func callbacksRunInOrderNeverEarly() async {
        let timers = DeadlineTimerThread()
        let start = DispatchTime.now().uptimeNanoseconds
        let offsets: [UInt64] = [340, 310, 330, 310, 0, 325, 305, 350].map { $0 * 1_000_000 }
        let fired = Mutex<[(index: Int, at: UInt64)]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            for (index, offset) in offsets.enumerated() {
                timers.schedule(atUptimeNanoseconds: start + offset) {
                    let now = DispatchTime.now().uptimeNanoseconds
                    let all = fired.withLock { fired -> Bool in
                        fired.append((index, now))
                        return fired.count == offsets.count
                    }
                    if all { done.resume() }
                }
            }
        }
        let runs = fired.withLock { $0 }
        #expect(runs.map(\.index) == [4, 6, 1, 3, 5, 2, 0, 7])
        for run in runs {
            #expect(run.at >= start + offsets[run.index], "callback \(run.index) ran early")
        }
        #expect(timers.scheduledCount == 0)
    }

    /// A deadline earlier than the one the thread sleeps to wakes it: the early callback does
    /// not wait for the late one.
    @Test("an earlier deadline scheduled while the thread sleeps runs first")
    func earlierDeadlineWakesTheThread() async {
        let timers = DeadlineTimerThread()
        let start = DispatchTime.now().uptimeNanoseconds
        let order = Mutex<[String]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            timers.schedule(atUptimeNanoseconds: start + 30_000_000_000) {}
            // The thread now sleeps to the 30 s deadline.
            timers.schedule(atUptimeNanoseconds: start + 20_000_000) {
                order.withLock { $0.append("early") }
                done.resume()
            }
        }
        #expect(order.withLock { $0 } == ["early"])
        #expect(timers.scheduledCount == 1)
    }

    /// A repeating callback runs again at each deadline it returns, in place (nothing new is
    /// scheduled), until it returns `nil`: how a transport re-arms a watchdog traffic pushed back.
    @Test("a repeating callback runs again at the deadline it returns, until it returns nil")
    func repeatingCallbackRunsAgain() async {
        let timers = DeadlineTimerThread()
        let start = DispatchTime.now().uptimeNanoseconds
        let runs = Mutex<[UInt64]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            timers.scheduleRepeating(atUptimeNanoseconds: start + 1_000_000) {
                let now = DispatchTime.now().uptimeNanoseconds
                let count = runs.withLock { runs in
                    runs.append(now)
                    return runs.count
                }
                if count < 3 { return now + 5_000_000 }
                done.resume()
                return nil
            }
        }
        let times = runs.withLock { $0 }
        #expect(times.count == 3)
        // Each run came at or after the deadline the one before it returned.
        for (earlier, later) in zip(times, times.dropFirst()) { #expect(later >= earlier + 5_000_000) }
        #expect(timers.scheduledCount == 0)
    }

    /// A deadline far away (a huge timeout a user configured) neither traps nor wraps around
    /// to fire at once: it is clamped and waits.
    @Test("a deadline centuries away is clamped, not overflowed")
    func hugeDeadlineIsClamped() {
        #expect(Duration.seconds(Int64.max).clampedNanoseconds == .max)
        #expect(Duration.seconds(Int64.min).clampedNanoseconds == .min)
        #expect(Duration.milliseconds(1500).clampedNanoseconds == 1_500_000_000)
        let timers = DeadlineTimerThread()
        let fired = Mutex(false)
        timers.schedule(at: .now + .seconds(Int64.max / 2)) { fired.withLock { $0 = true } }
        timers.schedule(atUptimeNanoseconds: 0) {}
        #expect(timers.scheduledCount >= 1)
        #expect(!fired.withLock { $0 })
    }
}

import Foundation
import River
import Synchronization
import Testing

/// Tasks parked on unsafe continuations, announced on `parked` as they park. (Locked with
/// `AdaptiveMutex`, a pthread mutex, so that ThreadSanitizer sees the continuations handed over.)
private final class Parking: Sendable {
    let continuations = AdaptiveMutex<[Int: UnsafeContinuation<Void, Never>]>([:])
    /// The tasks that got past their park.
    let finished = AdaptiveMutex<Set<Int>>([])
    let parked: AsyncStream<Int>
    let announce: AsyncStream<Int>.Continuation

    init() { (parked, announce) = AsyncStream.makeStream(of: Int.self) }

    func park(_ index: Int) async {
        await withUnsafeContinuation { continuation in
            continuations.withLock { $0[index] = continuation }
            announce.yield(index)
        }
    }

    func waitUntilParked(_ count: Int) async {
        var seen = 0
        for await _ in parked {
            seen += 1
            if seen == count { return }
        }
    }

    func take(_ index: Int) -> UnsafeContinuation<Void, Never>? {
        continuations.withLock { $0.removeValue(forKey: index) }
    }
}

@Suite("Wake-up batch", .timeLimit(.minutes(1)))
struct WakeupBatchTests {
    /// Runs `body` on a new thread and waits for it to finish.
    private func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
            Thread { done.resume(returning: body()) }.start()
        }
    }

    @Test("on the batching thread wake-ups wait for flush; on other threads they resume at once")
    func deferredUntilFlush() async {
        let batch = WakeupBatch()
        let parking = Parking()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<4 {
                group.addTask {
                    await parking.park(index)
                    parking.finished.withLock { _ = $0.insert(index) }
                }
            }
            await parking.waitUntilParked(4)

            // Another thread (this task's) is not the batching thread: task 3 resumes now.
            if let task = parking.take(3) { batch.resume(task) }

            let (deferredBeforeFlush, finishedBeforeFlush, deferredAfterFlush) = await onThread {
                batch.adoptCurrentThread()
                for index in 0..<3 { if let task = parking.take(index) { batch.resume(task) } }
                // Not resumed yet, so none of the three can have finished.
                let deferred = batch.deferredCount
                let finishedNow = parking.finished.withLock { $0.intersection([0, 1, 2]).count }
                batch.flush()
                return (deferred, finishedNow, batch.deferredCount)
            }
            #expect(deferredBeforeFlush == 3)
            #expect(finishedBeforeFlush == 0)
            #expect(deferredAfterFlush == 0)
            await group.waitForAll()
        }
        #expect(parking.finished.withLock { $0 } == [0, 1, 2, 3])
    }

    @Test("batch after batch the deferred wake-ups go into the same storage (no allocation per flush)")
    func storageReused() async {
        let batch = WakeupBatch()
        let parking = Parking()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<6 {
                group.addTask { await parking.park(index) }
            }
            await parking.waitUntilParked(6)
            let addresses = await onThread { () -> [UInt] in
                batch.adoptCurrentThread()
                var addresses: [UInt] = []
                for round in 0..<3 {
                    for index in [2 * round, 2 * round + 1] {
                        if let task = parking.take(index) { batch.resume(task) }
                    }
                    addresses.append(UInt(bitPattern: batch.storageAddress))
                    batch.flush()
                }
                return addresses
            }
            await group.waitForAll()
            #expect(addresses[0] != 0)
            #expect(Set(addresses).count == 1, "storage per batch: \(addresses)")
        }
    }
}

import Dispatch
import Foundation
import River
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the dispatcher's handler saw: each event's first byte, and whether it ran on the
/// thread that dispatched it.
private final class Seen: Sendable {
    let entries = Mutex<[(tag: UInt8, inline: Bool)]>([])
    let done = OneShotSignal()
}

@Suite("Connection event dispatcher", .timeLimit(.minutes(1)))
struct ConnectionEventDispatcherTests {
    @Test("small messages run inline; a large one and everything after it until drained go to the queue, in order")
    func largeMessagesLeaveTheIOThreadInOrder() async {
        let seen = Seen()
        let dispatchingThread = Mutex<pthread_t?>(nil)
        let dispatcher = ConnectionEventDispatcher(label: "test", pauseReceiving: { _ in }) { event in
            let inline = dispatchingThread.withLock { $0.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
            switch event {
            case .message(let bytes): seen.entries.withLock { $0.append((bytes.first ?? 0, inline)) }
            case .textMessage: break
            case .closed: seen.done.raise()
            }
        }
        dispatchingThread.withLock { $0 = pthread_self() }
        let large = [UInt8](repeating: 2, count: ConnectionEventDispatcher.largeMessageBytes)
        dispatcher.dispatch(.message([1]))
        dispatcher.dispatch(.message(large))
        for tag in 3...50 { dispatcher.dispatch(.message([UInt8(tag)])) }
        dispatcher.dispatch(.closed(RiverConnectionClosure(code: 1000, reason: "", initiatedLocally: false)))
        await seen.done.wait()
        let entries = seen.entries.withLock { $0 }
        #expect(entries.map(\.tag) == Array(1...50))
        #expect(entries.first?.inline == true)
        #expect(entries.dropFirst().first?.inline == false)  // the large message
    }
}

@Suite("Connection event dispatcher back-pressure", .timeLimit(.minutes(1)))
struct ConnectionEventDispatcherBackPressureTests {
    @Test("a slow handler pauses reading once the queue holds more than its limit, never the dispatching thread; reading resumes at half")
    func queueIsBoundedByPausingReads() async throws {
        let message = [UInt8](repeating: 1, count: ConnectionEventDispatcher.largeMessageBytes)
        let limit = 4 * message.count
        let handled = Mutex(0)
        let done = OneShotSignal()
        let gate = DispatchSemaphore(value: 0)
        let paused = OneShotSignal()
        let resumed = OneShotSignal()
        // Each pause (true) or resume (false), in order.
        let calls = Mutex<[Bool]>([])
        let dispatcher = ConnectionEventDispatcher(label: "test", maximumQueuedBytes: limit, pauseReceiving: { pause in
            calls.withLock { $0.append(pause) }
            (pause ? paused : resumed).raise()
        }) { event in
            if case .closed = event {
                done.raise()
                return
            }
            gate.wait()  // the handler runs only when the test lets it
            handled.withLock { $0 += 1 }
        }
        // Dispatching never blocks, even with nothing handled: 40 messages are 10 times the limit.
        for _ in 0..<40 { dispatcher.dispatch(.message(message)) }
        await paused.wait()
        #expect(calls.withLock { $0 } == [true], "one pause, no resume yet")
        #expect(dispatcher.queuedBytes == 40 * message.count)
        // Drain: reading resumes once the queue is at half the limit, exactly once.
        for _ in 0..<40 { gate.signal() }
        await resumed.wait()
        dispatcher.dispatch(.closed(RiverConnectionClosure(code: 1000, reason: "", initiatedLocally: false)))
        await done.wait()
        #expect(handled.withLock { $0 } == 40)
        #expect(dispatcher.queuedBytes == 0)
        #expect(calls.withLock { $0 } == [true, false])
    }
}

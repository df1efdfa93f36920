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
        let dispatcher = ConnectionEventDispatcher(label: "test") { event in
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

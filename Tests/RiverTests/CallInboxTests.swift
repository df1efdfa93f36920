import River
import Synchronization
import Testing

/// The message of a `.failed` event (the tests use those as numbered events).
private func label(_ event: ClientTransport.StreamEvent?) -> String? {
    guard case .failed(let error)? = event else { return nil }
    return error.message
}

private func event(_ label: String) -> ClientTransport.StreamEvent {
    .failed(RiverError(code: .cancel, message: label))
}

@Suite("Call inbox", .timeLimit(.minutes(1)))
struct CallInboxTests {
    @Test("events come out in order; after end the rest drains, then nil; later pushes are dropped")
    func orderAndEnd() async {
        let inbox = CallInbox()
        #expect(inbox.push(event("1")) == nil)
        #expect(inbox.push(event("2")) == nil)
        #expect(label(await inbox.next()) == "1")
        #expect(inbox.push(event("3")) == nil)
        #expect(inbox.end() == nil)
        #expect(inbox.push(event("4")) == nil)
        #expect(label(await inbox.next()) == "2")
        #expect(label(await inbox.next()) == "3")
        #expect(await inbox.next() == nil)
        #expect(await inbox.next() == nil)
    }

    @Test("many queued events (past the inline slot) keep their order across partial reads")
    func longQueue() async {
        let inbox = CallInbox()
        var expected: [String] = []
        var received: [String] = []
        for round in 0..<5 {
            for index in 0..<(round * 3 + 1) {
                let name = "\(round).\(index)"
                expected.append(name)
                #expect(inbox.push(event(name)) == nil)
            }
            for _ in 0..<round { received.append(label(await inbox.next()) ?? "-") }
        }
        #expect(inbox.end() == nil)
        while let next = await inbox.next() { received.append(label(next) ?? "-") }
        #expect(received == expected)
    }

    @Test("a reader waiting or not gets the pushed event once the returned reader is resumed")
    func pushWakesTheReader() async {
        for _ in 0..<200 {
            let inbox = CallInbox()
            let received = await withTaskGroup(of: String?.self) { group in
                group.addTask { label(await inbox.next()) }
                await Task.yield()
                // Either the reader already waits (push hands it back) or it will find the
                // event queued.
                inbox.push(event("hello"))?.resume()
                return await group.next() ?? nil
            }
            #expect(received == "hello")
        }
    }

    @Test("end wakes a waiting reader with nil")
    func endWakesTheReader() async {
        let inbox = CallInbox()
        let received = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await inbox.next() == nil }
            await Task.yield()
            inbox.end()?.resume()
            return await group.next() ?? false
        }
        #expect(received)
    }

    @Test("cancelling a waiting reader returns nil; the inbox keeps working")
    func cancellationEndsTheWait() async {
        let inbox = CallInbox()
        let received = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await inbox.next() == nil }
            group.cancelAll()
            return await group.next() ?? false
        }
        #expect(received)
        _ = inbox.push(event("later"))
        #expect(label(await inbox.next()) == "later")
    }
}

/// Counts how often its inbox told it of events.
private final class CountingListener: CallInboxListener {
    private let told = Atomic(0)
    var count: Int { told.load(ordering: .relaxed) }
    func inboxBecameReady() -> UnsafeContinuation<Void, Never>? {
        told.add(1, ordering: .relaxed)
        return nil
    }
}

@Suite("Call inbox listener", .timeLimit(.minutes(1)))
struct CallInboxListenerTests {
    @Test("a listener is told once per batch of events, again after takeSignalled emptied the inbox")
    func toldOncePerBatch() {
        let inbox = CallInbox()
        let listener = CountingListener()
        inbox.listen(listener)
        #expect(listener.count == 0, "an empty inbox tells nothing")
        _ = inbox.push(event("1"))
        _ = inbox.push(event("2"))
        #expect(listener.count == 1)
        let first = inbox.takeSignalled()
        #expect(label(first.event) == "1" && first.more)
        _ = inbox.push(event("3"))
        #expect(listener.count == 1, "not emptied yet: the owner takes the rest without being told")
        #expect(label(inbox.takeSignalled().event) == "2")
        let last = inbox.takeSignalled()
        #expect(label(last.event) == "3" && !last.more)
        _ = inbox.push(event("4"))
        #expect(listener.count == 2)
    }

    @Test("listening to an inbox that holds events tells at once; the end tells, then the listener is dropped")
    func queuedEventsAndTheEnd() {
        let inbox = CallInbox()
        _ = inbox.push(event("1"))
        let listener = CountingListener()
        inbox.listen(listener)
        #expect(listener.count == 1)
        #expect(label(inbox.takeSignalled().event) == "1")
        _ = inbox.end()
        #expect(listener.count == 2, "the end of an emptied inbox is news")
        _ = inbox.push(event("2"))
        #expect(listener.count == 2)
        let drained = inbox.takeSignalled()
        #expect(drained.event == nil && !drained.more)
    }
}

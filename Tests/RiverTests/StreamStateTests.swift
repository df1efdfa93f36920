@testable import River
import Testing

/// A message from the server on stream `s` with `flags`.
private func message(_ flags: ControlFlags, _ payload: RiverValue = ["ok": true, "payload": [:]]) -> TransportMessage {
    TransportMessage(id: "m", from: "SERVER", to: "c", seq: 0, ack: 0, streamId: "s", controlFlags: flags, payload: payload)
}

/// The transport's record of one stream, tested as a value.
@Suite("Stream state")
struct StreamStateTests {
    @Test("the first reason a stream ends with wins; the reader gets it, then the end")
    func firstReasonWins() async {
        var state = StreamState(inbox: CallInbox())
        state.markOpened(in: "session", closingRequests: false)
        var wakeups = ClientTransport.Wakeups()
        state.end(with: RiverError(code: .unexpectedDisconnect, message: "lost"), wakeups: &wakeups)
        state.end(with: RiverError(code: .cancel, message: "later"), wakeups: &wakeups)
        #expect(state.endedWith?.message == "lost")
        #expect(state.isOver)
        guard case .failed(let error)? = await state.inbox.next() else {
            Issue.record("expected the failure")
            return
        }
        #expect(error.message == "lost")
        #expect(await state.inbox.next() == nil)
    }

    @Test("a server CANCEL ends the stream with the server's error; later messages are dropped")
    func serverCancel() async {
        var state = StreamState(inbox: CallInbox())
        state.markOpened(in: "session", closingRequests: false)
        let cancel: RiverValue = ["ok": false, "payload": ["code": "CANCEL", "message": "stop"]]
        _ = state.receive(message(.streamCancel, cancel))
        #expect(state.endedWith?.code == .cancel)
        #expect(state.endedWith?.message == "stop")
        #expect(state.remoteClosed)
        _ = state.receive(message([]))
        guard case .message(let first)? = await state.inbox.next() else {
            Issue.record("expected the cancel message")
            return
        }
        #expect(first.controlFlags.contains(.streamCancel))
        state.inbox.end().map { $0.resume() }
        #expect(await state.inbox.next() == nil)
    }

    @Test("once both sides closed the stream is over: a lost session does not end it")
    func bothClosedIsOver() {
        var state = StreamState(inbox: CallInbox())
        state.markOpened(in: "session", closingRequests: true)
        _ = state.receive(message(.streamClosed))
        #expect(state.isOver)
        var wakeups = ClientTransport.Wakeups()
        state.end(with: RiverError(code: .unexpectedDisconnect, message: "lost"), wakeups: &wakeups)
        #expect(state.endedWith == nil)
    }

    @Test("acknowledgements count only in the stream's own session")
    func acknowledgements() {
        var state = StreamState(inbox: CallInbox())
        state.markOpened(in: "one", closingRequests: false)
        for seq in 3..<6 { state.recordWrite(seq: seq, firstUnacked: 3, session: "one") }
        state.acknowledge(firstUnacked: 5, session: "two")
        #expect(state.acknowledged == 0)
        state.acknowledge(firstUnacked: 5, session: "one")
        #expect((state.sent, state.acknowledged) == (3, 2))
    }

    @Test("consecutive writes are kept as one run; a gap (another stream's seq) starts a new one")
    func unacknowledgedRuns() {
        var state = StreamState(inbox: CallInbox())
        state.markOpened(in: "one", closingRequests: false)
        for seq in 10..<1010 { state.recordWrite(seq: seq, firstUnacked: 10, session: "one") }
        #expect(Array(state.unacknowledged) == [.init(first: 10, count: 1000)])
        // Seq 1010 went to another stream (or was a heartbeat echo).
        state.recordWrite(seq: 1011, firstUnacked: 10, session: "one")
        #expect(Array(state.unacknowledged) == [.init(first: 10, count: 1000), .init(first: 1011, count: 1)])
        // An acknowledgement in the middle of a run splits it; the gap counts for nothing.
        state.acknowledge(firstUnacked: 510, session: "one")
        #expect(Array(state.unacknowledged) == [.init(first: 510, count: 500), .init(first: 1011, count: 1)])
        #expect((state.sent, state.acknowledged) == (1001, 500))
        state.acknowledge(firstUnacked: 1012, session: "one")
        #expect(state.unacknowledged.isEmpty)
        #expect((state.sent, state.acknowledged) == (1001, 1001))
    }

    @Test("a write first drops what the server acknowledged, so the record never outgrows the send buffer")
    func writesPruneAcknowledged() {
        var state = StreamState(inbox: CallInbox())
        state.markOpened(in: "one", closingRequests: false)
        // Two streams interleave (this one has every other seq), and the server acknowledges
        // all but the last 10 seqs: the record keeps 5 runs however long the stream writes.
        for seq in stride(from: 0, to: 100_000, by: 2) {
            state.recordWrite(seq: seq, firstUnacked: max(0, seq - 10), session: "one")
            #expect(state.unacknowledged.count <= 6)
        }
        #expect(state.sent == 50_000)
        #expect(state.acknowledged == 50_000 - state.unacknowledged.count)
        // Acknowledgements of another session are not this stream's.
        state.recordWrite(seq: 100_000, firstUnacked: 100_000, session: "two")
        #expect(state.acknowledged == 50_000 - 6)
    }
}

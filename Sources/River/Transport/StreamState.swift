import DequeModule

/// Everything about one call's stream, owned by its ``ClientTransport`` and only touched under
/// the transport's lock: which sides closed, why it ended, the session it belongs to and the
/// seqs of its unacknowledged requests. A ``Call`` never keeps a copy; it asks.
///
/// A stream is registered before its open message is sent (so a deadline or a cancellation
/// can end it while it waits for send-buffer room) and stays until the call releases it at
/// the end of its scope, so the call can always ask why it ended.
struct StreamState {
    /// Where the stream's messages go, in order, for its one reader.
    let inbox: CallInbox
    /// The open message went out (before that the call waits for send-buffer room, and
    /// ending it sends nothing).
    var opened = false
    /// This client sent CLOSE (an rpc or subscription does so with its open message).
    var localClosed = false
    /// The server closed its side (CLOSE or CANCEL).
    var remoteClosed = false
    /// Why the stream ended other than by both sides closing: a lost session, a cancel by
    /// either side, the deadline. The first reason is kept.
    var endedWith: RiverError? {
        get { ending?.error }
        set { ending = newValue.map(Ending.init) }
    }
    /// ``endedWith``, boxed: a `RiverError` is a few hundred bytes, and every open stream's
    /// state sits in the transport's table, where an inline one made each entry that large.
    private var ending: Ending?
    /// The session the open message went out in; the stream's messages never move to another.
    var sessionID: String?
    /// The seqs of written requests the server has not acknowledged yet, as runs of consecutive
    /// seqs, oldest first. A stream writing alone on its session gets consecutive seqs, so an
    /// upload keeps a few runs however many requests are in flight (one entry per request
    /// cost 8 bytes each, doubled by the deque's growth: 12.6 MB at the peak of a 5 s upload).
    /// Pruned on every write, so it never outgrows the session's send buffer.
    private(set) var unacknowledged: Deque<SeqRun> = []
    /// Requests written.
    var sent = 0
    /// Requests written that the server acknowledged.
    var acknowledged = 0

    /// Consecutive seqs `first ..< first + count`.
    struct SeqRun: Equatable {
        var first: Int
        var count: Int
    }

    /// Why a stream ended (see ``endedWith``).
    private final class Ending: Sendable {
        let error: RiverError
        init(_ error: RiverError) { self.error = error }
    }

    init(inbox: CallInbox) {
        self.inbox = inbox
    }

    /// Whether the stream is over: ended, or both sides closed. Nothing more is sent or
    /// delivered.
    var isOver: Bool { ending != nil || (localClosed && remoteClosed) }

    /// A message from the server for this stream: queued for the reader unless the stream is
    /// over or the server closed its side already.
    /// - Returns: The reader to wake.
    mutating func receive(_ message: TransportMessage) -> UnsafeContinuation<Void, Never>? {
        guard !isOver, !remoteClosed else { return nil }
        if message.controlFlags.contains(.streamCancel) {
            // The call's writers must stop at once, even while nobody reads the responses
            // (an upload still writing); the reader gets the cancel message itself.
            remoteClosed = true
            endedWith = CallReader.cancelError(message.payload)
        } else if message.controlFlags.contains(.streamClosed) {
            remoteClosed = true
        }
        return inbox.push(.message(message))
    }

    /// Ends the stream with `error` unless it is over; its reader gets `error`, then the end.
    mutating func end(with error: RiverError, wakeups: inout ClientTransport.Wakeups) {
        guard !isOver else { return }
        endedWith = error
        if let reader = inbox.push(.failed(error)) { wakeups.append(reader) }
        if let reader = inbox.end() { wakeups.append(reader) }
    }

    /// The open message went out in session `session` (with CLOSE when `closingRequests`).
    mutating func markOpened(in session: String?, closingRequests: Bool) {
        opened = true
        sessionID = session
        localClosed = closingRequests
    }

    /// Records a written request's seq, first counting what the server acknowledged (see
    /// ``acknowledge(firstUnacked:session:)``) so that the record stays as small as the
    /// session's send buffer.
    mutating func recordWrite(seq: Int, firstUnacked: Int?, session: String?) {
        acknowledge(firstUnacked: firstUnacked, session: session)
        let last = unacknowledged.count - 1
        if last >= 0, unacknowledged[last].first + unacknowledged[last].count == seq {
            unacknowledged[last].count += 1
        } else {
            unacknowledged.append(SeqRun(first: seq, count: 1))
        }
        sent += 1
    }

    /// Counts the requests the server acknowledged, given the oldest unacknowledged seq of
    /// `session` (only the stream's own session counts).
    mutating func acknowledge(firstUnacked: Int?, session: String?) {
        guard let firstUnacked, session == sessionID else { return }
        while var oldest = unacknowledged.first, oldest.first < firstUnacked {
            let acknowledgedNow = min(oldest.count, firstUnacked - oldest.first)
            acknowledged += acknowledgedNow
            if acknowledgedNow == oldest.count {
                unacknowledged.removeFirst()
            } else {
                oldest.first += acknowledgedNow
                oldest.count -= acknowledgedNow
                unacknowledged[0] = oldest
            }
        }
    }
}

extension Dictionary where Key == String, Value == StreamState {
    /// Changes the state of stream `streamID` in place, if it is registered, and returns what
    /// `body` returns (nil when the stream is not registered).
    ///
    /// `self[streamID]?.change()` moves the state out into the subscript's coroutine frame and
    /// back, and a frame that large is allocated on the heap: two `malloc`s and two copies of
    /// the state per call (heaptrack, four per rpc). Through `values[index]` it is changed where
    /// it lies.
    @discardableResult
    mutating func updateStream<Result, Failure: Error>(
        _ streamID: String, _ body: (inout StreamState) throws(Failure) -> Result
    ) throws(Failure) -> Result? {
        guard let index = index(forKey: streamID) else { return nil }
        return try body(&values[index])
    }
}

import DequeModule

/// One member of a ``SubscriptionGroup``: its key and call. It is its inbox's listener: when
/// the transport queues a message for it and nobody has been told yet, it puts itself in the
/// group's ready queue.
final class SubscriptionGroupMember<Key: Hashable & Sendable>: CallInboxListener {
    let key: Key
    let call: Call
    private let members: SubscriptionGroupMembers<Key>

    init(key: Key, call: Call, members: SubscriptionGroupMembers<Key>) {
        self.key = key
        self.call = call
        self.members = members
    }

    func inboxBecameReady() -> UnsafeContinuation<Void, Never>? {
        members.markReady(self)
    }

    /// The member left the group with `error` (cancelled, failed): its stream is released
    /// (which sends CANCEL unless the server ended it), and its observation records the error.
    func end(threw error: any Error) {
        call.transport.release(streamID: call.streamID)
        call.hooks?.finish(threw: error, on: call.transport)
    }

    /// The member left the group because its server closed it.
    func endFinished() {
        call.transport.release(streamID: call.streamID)
        call.hooks?.finish(.ok, on: call.transport)
    }
}

/// A subscription group's members by key, the queue of those with events to read, and the
/// group's one waiting reader, under one lock.
///
/// Lock order: the transport's lock, then an inbox's, then this one (a member's inbox tells it
/// of new events while the transport delivers them). Nothing here takes another lock while
/// holding this one.
final class SubscriptionGroupMembers<Key: Hashable & Sendable>: Sendable {
    typealias Member = SubscriptionGroupMember<Key>

    /// What a member in the ready queue has to deliver.
    private enum Ready {
        /// Events in its inbox.
        case events(Member)
        /// Its end, after a result that closed its stream.
        case closed(Member)
    }

    private struct State {
        var members: [Key: Member] = [:]
        var ready: Deque<Ready> = []
        var reader: UnsafeContinuation<Void, Never>?
        /// The group's scope ended: no member may be added.
        var closed = false
    }

    /// A pthread mutex (``AdaptiveMutex``), as ``CallInbox``'s: ThreadSanitizer sees it order
    /// the hand-over of the reader's continuation.
    private let state = AdaptiveMutex(State())

    /// Adds `member`.
    /// - Throws: ``RiverError``: ``RiverError/Code/duplicateKey`` when a member has its key,
    ///   ``RiverError/Code/cancel`` when the group has closed.
    func insert(_ member: Member) throws(RiverError) {
        try state.withLock { state throws(RiverError) in
            if state.closed {
                throw RiverError(code: .cancel, message: "the subscription group's scope has ended")
            }
            guard state.members[member.key] == nil else {
                throw RiverError(code: .duplicateKey, message: "the subscription group already has a member with key \(member.key)")
            }
            state.members[member.key] = member
        }
        member.call.inbox.listen(member)
    }

    /// Removes `member` if it is still a member. - Returns: Whether it was.
    func remove(_ member: Member) -> Bool {
        state.withLock { state in
            guard state.members[member.key] === member else { return false }
            state.members[member.key] = nil
            return true
        }
    }

    /// Removes the member with `key`. - Returns: It, if there was one.
    func remove(_ key: Key) -> Member? {
        state.withLock { $0.members.removeValue(forKey: key) }
    }

    /// Removes every member and refuses new ones.
    /// - Returns: The members, for their streams to be ended (outside the lock).
    func close() -> [Member] {
        let (members, reader) = state.withLock { state in
            state.closed = true
            return (removeAll(&state), state.reader.take())
        }
        reader?.resume()
        return members
    }

    /// Removes every member. - Returns: The members, for their streams to be ended.
    func removeAll() -> [Member] {
        state.withLock { removeAll(&$0) }
    }

    private func removeAll(_ state: inout State) -> [Member] {
        let members = Array(state.members.values)
        state.members.removeAll()
        state.ready.removeAll()
        return members
    }

    /// Whether a member has `key`.
    func contains(_ key: Key) -> Bool {
        state.withLock { $0.members[key] != nil }
    }

    /// How many members there are.
    var count: Int { state.withLock { $0.members.count } }

    /// `member`'s inbox has events: it joins the ready queue (unless it left the group).
    /// - Returns: The waiting reader, to be resumed by the caller (outside its locks).
    func markReady(_ member: Member) -> UnsafeContinuation<Void, Never>? {
        state.withLock { state in
            guard state.members[member.key] === member else { return nil }
            state.ready.append(.events(member))
            return state.reader.take()
        }
    }

    /// What ``nextReady()`` found.
    enum Next {
        /// A member with events in its inbox.
        case member(Member)
        /// A member whose stream closed with its last result: it has left the group.
        case closed(Member)
        /// No member has events; the group has none.
        case empty
        /// No member has events yet.
        case waiting
    }

    /// The first member of the ready queue that is still a member.
    func nextReady() -> Next {
        state.withLock { state in
            while let ready = state.ready.popFirst() {
                switch ready {
                case .events(let member):
                    if state.members[member.key] === member { return .member(member) }
                case .closed(let member):
                    if state.members[member.key] === member {
                        state.members[member.key] = nil
                        return .closed(member)
                    }
                }
            }
            return state.members.isEmpty ? .empty : .waiting
        }
    }

    /// When a delivered event ends its member.
    enum Ending: Equatable {
        /// It does not.
        case notYet
        /// It is the member's last event: the member leaves the group.
        case now
        /// It closed the stream: the member's end is delivered next.
        case afterNext
    }

    /// Settles the delivery of one of `member`'s events: the member leaves the group when the
    /// event ends it, goes back to the ready queue when its inbox holds more or its end is to
    /// be delivered.
    /// - Returns: Whether to deliver the event: `false` when the member was removed meanwhile.
    func deliver(_ member: Member, ending: Ending, more: Bool) -> Bool {
        state.withLock { state in
            guard state.members[member.key] === member else { return false }
            switch ending {
            case .now: state.members[member.key] = nil
            case .afterNext: state.ready.append(.closed(member))
            case .notYet: if more { state.ready.append(.events(member)) }
            }
            return true
        }
    }

    /// Waits until a member has events, the group has none, or the reading task is cancelled.
    /// - Returns: `false` when the task was cancelled, or another task is waiting already.
    func waitUntilReady() async -> Bool {
        var busy = false
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.reader != nil {
                        busy = true
                        return true
                    }
                    if Task.isCancelled || !state.ready.isEmpty || state.members.isEmpty { return true }
                    state.reader = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.reader.take() }?.resume()
        }
        return !busy && !Task.isCancelled
    }
}

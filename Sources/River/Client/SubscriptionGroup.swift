import DequeModule

/// Many subscriptions read through one sequence of events, without a task per subscription.
///
/// A task waiting in a subscription's ``ResponseStream`` costs a few kilobytes of memory for
/// as long as it waits. A group holds its members' calls and nothing else: an idle member costs
/// about 1.2 KB (measured with 20,000 and 100,000 members), so a process can hold hundreds of
/// thousands of idle subscriptions. Create one with
/// ``RiverClient/withSubscriptionGroup(keyedBy:for:body:)``, add members with
/// ``add(_:_:_:options:)``, each under a key of the caller's choosing, and read every member's
/// results from ``events``:
///
/// ```swift
/// try await client.withSubscriptionGroup(keyedBy: String.self, for: Prices.Watch.procedure) { group in
///     for symbol in ["AAPL", "MSFT"] {
///         try await group.add(symbol, Prices.Watch.procedure, .init(symbol: symbol))
///     }
///     for await event in group.events {
///         switch event {
///         case .result(let symbol, .success(let price)): print(symbol, price.value)
///         case .result(let symbol, .failure(let error)): print(symbol, "service error", error)
///         case .finished(let symbol): print(symbol, "closed by the server")
///         case .failed(let symbol, let error): print(symbol, "failed:", error)
///         }
///     }
/// }
/// ```
///
/// - A member's events come in the order its server sent them; events of different members
///   interleave in the order the members became ready (a member with a backlog yields one event
///   per turn, so one busy member does not starve the others).
/// - A member ends with exactly one ``Event/finished(_:)`` (the server closed it) or
///   ``Event/failed(_:_:)`` (a cancel by the server, a lost session, a result that did not
///   decode or that an interceptor's transform rejected) and then leaves the group; its key can
///   be added again. One member's end does not end the others or the group.
/// - ``cancel(_:)`` ends a member at once: CANCEL goes to the server and no further event of
///   that key is delivered.
/// - When the scope of ``RiverClient/withSubscriptionGroup(keyedBy:for:body:)`` ends, every member
///   left is cancelled.
/// - Members survive transparent reconnects like any call; a lost session fails each one.
///
/// **Buffering.** Results the group's reader has not taken yet are queued per member without
/// limit, as they are for a ``ResponseStream`` nobody reads: the reader has to keep up with
/// what its members receive.
///
/// **Interceptors** see each member's opening: `next` returns once the member's open message
/// is sent (its results are read from the group, not returned through the chain). Their init
/// payload and option changes and their result transforms apply. A member's
/// ``CallOptions/timeout`` bounds its ``add(_:_:_:options:)``, not its life: a member lives
/// until it ends or is cancelled. Each member is a call of its own for spans, metrics and logs.
public final class SubscriptionGroup<Key: Hashable & Sendable, Output: RiverResponsePayload, Failure: RiverServiceFailure>: Sendable {
    /// What happened to one member.
    public enum Event: Sendable {
        /// A result the member's server sent: an output, or a service error it declares (a
        /// subscription may send an error and go on).
        case result(Key, Result<Output, Failure>)
        /// The server closed the member's subscription; the member left the group.
        case finished(Key)
        /// The member ended with an error and left the group: a ``RiverError`` (the server
        /// cancelled it, the session was lost, a result did not decode), or what an
        /// interceptor's result transform threw.
        case failed(Key, any Error)

        /// The member the event is about.
        public var key: Key {
            switch self {
            case .result(let key, _), .finished(let key), .failed(let key, _): key
            }
        }
    }

    private let client: RiverClient
    private let members: SubscriptionGroupMembers<Key>

    init(client: RiverClient) {
        self.client = client
        self.members = SubscriptionGroupMembers()
    }

    /// Adds a member: opens a subscription to `procedure` with `initPayload`, whose results
    /// then arrive in ``events`` under `key`. Returns once the open message is sent (it waits
    /// for send-buffer room like any call).
    /// - Parameters:
    ///   - key: The member's key, unique among the group's current members.
    ///   - procedure: The subscription procedure (members may call different procedures with
    ///     the same output and failure types).
    ///   - initPayload: Its init message.
    ///   - options: Server, trace context and interceptors; ``CallOptions/timeout`` bounds
    ///     this call only.
    /// - Throws: ``RiverError``: ``RiverError/Code/duplicateKey`` when a current member has
    ///   `key`; ``RiverError/Code/cancel`` when the group's scope has ended or the adding task
    ///   is cancelled; ``RiverError/Code/deadlineExceeded`` when `options.timeout` passed before
    ///   the member opened; the errors any call's opening throws (closed client, unknown
    ///   server, encoding); or what an interceptor threw.
    public func add<Init: RiverRequestPayload>(
        _ key: Key, _ procedure: SubscriptionProcedure<Init, Output, Failure>, _ initPayload: Init,
        options: CallOptions = .defaults
    ) async throws {
        try await client.runOpening(
            procedure.descriptor, encodedInit: try Call.encodePayload(initPayload, what: "init"), options: options
        ) { call, opening in
            try await self.open(call, opening, as: key)
        }
    }

    /// Makes a started call a member under `key` and opens it.
    private func open(_ call: Call, _ opening: Call.Opening, as key: Key) async throws {
        let member = SubscriptionGroupMember(key: key, call: call, members: members)
        do {
            try members.insert(member)
        } catch {
            member.end(threw: error)
            throw error
        }
        do {
            try await call.openUnscoped(opening)
        } catch {
            if members.remove(member) { member.end(threw: error) }
            throw error
        }
    }

    /// Cancels the member with `key`: sends CANCEL to its server; no further event of `key`
    /// is delivered. A no-op when no current member has `key`.
    public func cancel(_ key: Key) {
        members.remove(key)?.end(threw: RiverError(code: .cancel, message: "cancelled by client"))
    }

    /// Cancels every member (as ``cancel(_:)`` does each).
    public func cancelAll() {
        for member in members.removeAll() {
            member.end(threw: RiverError(code: .cancel, message: "cancelled by client"))
        }
    }

    /// Whether a current member has `key`.
    public func contains(_ key: Key) -> Bool {
        members.contains(key)
    }

    /// How many members the group has.
    public var count: Int { members.count }

    /// The members' events, in the order described on ``SubscriptionGroup``.
    ///
    /// Iteration ends when the group has no members (like a task group's, it can be iterated
    /// again after adding more) and when the reading task is cancelled. One task reads at a
    /// time: an iterator's `next()` called while another waits returns `nil` at once.
    public var events: Events { Events(group: self) }

    /// The members' events (see ``SubscriptionGroup/events``).
    public struct Events: AsyncSequence, Sendable {
        /// One event.
        public typealias Element = Event
        /// Reading events never throws: failures are events.
        public typealias Failure = Never

        fileprivate let group: SubscriptionGroup

        /// Reads the events.
        public struct AsyncIterator: AsyncIteratorProtocol {
            fileprivate let group: SubscriptionGroup

            /// The next event; `nil` when the group has no members or the reading task is
            /// cancelled (or another task is reading).
            public mutating func next() async -> Event? {
                await group.nextEvent()
            }

            /// The next event (see ``next()``).
            public mutating func next(isolation actor: isolated (any Actor)?) async -> Event? {
                await group.nextEvent()
            }
        }

        /// Creates the iterator.
        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(group: group)
        }
    }

    /// The next event, waiting while no member has one.
    ///
    /// Only the wait is in this async function; taking an event and working out what it means
    /// is synchronous (``takeEvent()``, not inlined), so the reader's async frame stays small.
    private func nextEvent() async -> Event? {
        while true {
            switch takeEvent() {
            case .event(let event): return event
            case .noMembers: return nil
            case .wait:
                guard await members.waitUntilReady() else { return nil }
            }
        }
    }

    /// What ``takeEvent()`` found.
    private enum Taken {
        case event(Event)
        case noMembers
        case wait
    }

    /// The next event of a ready member, if any.
    @inline(never)
    private func takeEvent() -> Taken {
        while true {
            switch members.nextReady() {
            case .member(let member):
                if let event = event(of: member) { return .event(event) }
            case .closed(let member):
                member.endFinished()
                return .event(.finished(member.key))
            case .empty: return .noMembers
            case .waiting: return .wait
            }
        }
    }

    /// The event a ready member's oldest message stands for; `nil` when there is none to
    /// deliver (the member was cancelled meanwhile). A member whose event ends it leaves the
    /// group and its stream is released.
    private func event(of member: SubscriptionGroupMember<Key>) -> Event? {
        let (taken, more) = member.call.inbox.takeSignalled()
        let key = member.key
        let event: Event
        var ending = SubscriptionGroupMembers<Key>.Ending.notYet
        if let taken {
            do {
                if let result = try CallReader.result(of: taken, hooks: member.call.hooks, Output.self, Failure.self) {
                    event = .result(key, result)
                    // A result that closes the stream is followed by the member's `.finished`.
                    if CallReader.ends(taken) { ending = .afterNext }
                } else {
                    event = .finished(key)
                    ending = .now
                }
            } catch {
                event = .failed(key, error)
                ending = .now
            }
        } else {
            // Ended and drained without a failure event first: only a released stream does so.
            event = .failed(key, member.call.endedError ?? RiverError(code: .cancel, message: "cancelled by client"))
            ending = .now
        }
        guard members.deliver(member, ending: ending, more: more) else { return nil }
        if ending == .now {
            if case .failed(_, let error) = event { member.end(threw: error) } else { member.endFinished() }
        }
        return event
    }
}

extension SubscriptionGroup {
    /// The group's scope ended: every member left is cancelled and no more may be added.
    func endScope() {
        for member in members.close() {
            member.end(threw: RiverError(code: .cancel, message: "the subscription group's scope ended"))
        }
    }
}

import DequeModule
import Logging

/// The shell around ``SessionStateMachine``: it dials through a ``RiverConnector``, feeds
/// frames, closes and timer ticks into the machine, and carries out its actions. It is also
/// the single owner of every call's stream state (``StreamState``): a ``Call`` is a handle
/// that asks the transport.
///
/// All machine calls, all stream state and every write live under one lock, so messages
/// reach the wire in seq order and a stream's state never disagrees with the session's.
/// Readers and writers that an action wakes are resumed after the lock is released
/// (``locked(_:)``), so no wake-up syscall runs while others wait for the lock. Async work
/// (dialing, building handshake metadata, the timer) runs as child tasks of ``run()``.
///
/// The type is split by concern: lifecycle and connections (`ClientTransport+Lifecycle`),
/// streams (`+Streams`), carrying out the machine's actions (`+Actions`) and the timer
/// (`+Timer`).
package final class ClientTransport: Sendable {
    /// What a registered stream receives.
    package enum StreamEvent: Sendable {
        /// A message for the stream.
        case message(TransportMessage)
        /// The stream ended locally (session lost, cancelled, deadline) with this error.
        case failed(RiverError)
    }

    /// Tasks to resume once the lock is released. Usually there is one (the reader a reply
    /// is for), which is kept inline: no array is allocated for it.
    struct Wakeups {
        private var first: UnsafeContinuation<Void, Never>?
        private var rest: [UnsafeContinuation<Void, Never>] = []

        mutating func append(_ task: UnsafeContinuation<Void, Never>) {
            if first == nil { first = task } else { rest.append(task) }
        }

        /// Resumes every task, in the order they were appended (on the I/O thread, together
        /// with the rest of its pass: see ``WakeupBatch``).
        consuming func resumeAll() {
            if let first { WakeupBatch.shared.resume(first) }
            for task in rest { WakeupBatch.shared.resume(task) }
        }
    }

    /// Async work ``run()`` starts as child tasks.
    enum Job: Sendable {
        case dial(UInt64)
        case metadata(UInt64)
        case rehandshake(String)
        case stop
    }

    /// The open connection of one attempt, with its fast-path hooks when it has them.
    struct LiveConnection {
        var attempt: UInt64
        var connection: any RiverConnection
        var fastPath: (any RiverFastPathConnection)?
    }

    /// Everything the lock guards.
    struct Inner: ~Copyable {
        var machine: SessionStateMachine
        var connection: LiveConnection?
        var abandoned: Set<UInt64> = []
        /// Attempts whose metadata is being built while dialing (their dial task delivers it).
        var prefetching: Set<UInt64> = []
        /// Every call's stream, from its registration until the call releases it.
        var streams: [String: StreamState] = [:]
        /// Tasks waiting for send-buffer room (to open a stream or write to one), by waiter id,
        /// with the stream they wait for.
        var roomWaiters: [UInt64: (streamID: String, task: UnsafeContinuation<Void, Never>)] = [:]
        /// Tasks waiting for a stream to end (``ClientTransport/waitUntilEnded(_:)``), by waiter id.
        var endWaiters: [UInt64: (streamID: String, task: UnsafeContinuation<Void, Never>)] = [:]
        var nextWaiterID: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<RiverEvent>.Continuation] = [:]
        var nextSubscriberID: UInt64 = 0
        var random: SplitMix64
        var closed = false
        var draining = false
        /// Tasks to resume once the lock is released (stream readers, writers waiting for room).
        var wakeups = Wakeups()
        /// A connection that queued messages and must be woken once the lock is released.
        var flushWhenUnlocked: (any RiverFastPathConnection)?
        /// The last stream of a draining transport ended: close once the lock is released.
        var closeWhenUnlocked = false
        /// The timer task, while it sleeps, and the deadline it sleeps to (`nil`: no deadline).
        var timerSleeper: UnsafeContinuation<Void, Never>?
        var timerArmedFor: ContinuousClock.Instant?
        /// Tells a stale wake-up (an earlier sleep's deadline) from the current one.
        var timerGeneration: UInt64 = 0
        /// The machine's ``SessionStateMachine/deadlineGeneration`` last compared with the
        /// timer's deadline.
        var timerCheckedDeadlines: UInt64 = 0
        /// Wake-ups of the timer thread that found the deadline moved later and re-armed
        /// without waking the timer task (real clock only; for tests).
        var timerRearmsWithoutWaking = 0
        /// Heartbeats handled from their bytes, without the general decode (for tests).
        var heartbeatsWithoutDecoding = 0

        /// The machine's actions for one message go here; reused so that sending or receiving
        /// a message allocates no array for them.
        var actionBuffer: [SessionStateMachine.Action] = []

        /// The empty action buffer, lent out until ``returnActionBuffer(_:)``.
        mutating func takeActionBuffer() -> [SessionStateMachine.Action] {
            var buffer: [SessionStateMachine.Action] = []
            swap(&buffer, &actionBuffer)
            return buffer
        }

        /// Takes the buffer back, emptied (its memory is kept).
        mutating func returnActionBuffer(_ buffer: inout [SessionStateMachine.Action]) {
            buffer.removeAll(keepingCapacity: true)
            swap(&buffer, &actionBuffer)
        }

        /// Wakes the timer when the machine's next deadline moved before the one it sleeps to.
        mutating func rearmTimerIfEarlier() {
            guard let sleeper = timerSleeper, machine.deadlineGeneration != timerCheckedDeadlines else { return }
            timerCheckedDeadlines = machine.deadlineGeneration
            guard let next = machine.nextDeadline else { return }
            if let armed = timerArmedFor, armed <= next { return }
            timerSleeper = nil
            wakeups.append(sleeper)
        }

        /// Ends stream `streamID` with `error` (unless it is over already), waking its reader,
        /// its writers waiting for room and the tasks waiting for its end.
        mutating func endStream(_ streamID: String, with error: RiverError) {
            streams.updateStream(streamID) { $0.end(with: error, wakeups: &wakeups) }
            wakeWaiters(of: streamID)
        }

        /// Wakes the tasks waiting for room to open or write stream `streamID`, and those
        /// waiting for its end (it ended).
        mutating func wakeWaiters(of streamID: String) {
            Self.wake(streamID, in: &roomWaiters, into: &wakeups)
            Self.wake(streamID, in: &endWaiters, into: &wakeups)
        }

        private static func wake(
            _ streamID: String, in waiters: inout [UInt64: (streamID: String, task: UnsafeContinuation<Void, Never>)],
            into wakeups: inout Wakeups
        ) {
            guard !waiters.isEmpty else { return }
            let ids = waiters.compactMap { $0.value.streamID == streamID ? $0.key : nil }
            for id in ids {
                if let waiter = waiters.removeValue(forKey: id) { wakeups.append(waiter.task) }
            }
        }

        /// Asks for the close of a draining transport that has no streams left.
        mutating func closeIfDrained() {
            if draining && streams.isEmpty { closeWhenUnlocked = true }
        }
    }

    let inner: AdaptiveMutex<Inner>
    let jobs: AsyncStream<Job>
    let jobsContinuation: AsyncStream<Job>.Continuation
    let connector: any RiverConnector
    let codec: any RiverCodec
    /// The codec when it recognises heartbeats from their bytes (msgpack:
    /// ``handle(_:attempt:)``'s fast path), and the server id's UTF-8 bytes they must come
    /// from. Concrete, as reading an existential from this class copies it on every message.
    let heartbeatCodec: MessagePackCodec?
    let serverIDBytes: [UInt8]
    /// Encodes outbound messages before the lock is taken (the machine only adds seq and ack).
    let encoder: SessionStateMachine.OutboundEncoder
    let metadata: (@Sendable () async throws -> RiverValue?)?
    let prefetchMetadata: Bool
    let isFatalConnectionError: @Sendable (any Error) -> Bool
    let logger: Logger
    /// Spans, metrics and log lines for the machine's connection and session events.
    package let observation: TransportObservation
    /// ``TransportObservation/recordsSendBuffer``, read once (it is fixed, and reading it
    /// copies the metrics' handles: after every event that was a few retains and releases).
    let recordsSendBuffer: Bool
    /// The client's tracer, metrics factory and logger (calls on this transport use them).
    package let instruments: RiverInstruments
    /// Where the shell reads the time and arms its timer (injectable for tests).
    package let clock: any RiverClock

    /// The server's id.
    package let serverID: String
    /// This client's id.
    package let clientID: String

    package init(
        connector: any RiverConnector,
        codec: any RiverCodec,
        clientID: String,
        serverID: String,
        configuration: SessionStateMachine.Configuration,
        metadata: (@Sendable () async throws -> RiverValue?)?,
        prefetchMetadata: Bool = false,
        isFatalConnectionError: @escaping @Sendable (any Error) -> Bool,
        randomSeed: UInt64?,
        clock: any RiverClock = ContinuousRiverClock(),
        instruments: RiverInstruments
    ) {
        self.clock = clock
        let machine = SessionStateMachine(configuration: configuration, clientID: clientID, serverID: serverID, codec: codec)
        self.encoder = machine.encoder
        var seed = randomSeed ?? UInt64.random(in: .min ... .max)
        self.inner = AdaptiveMutex(Inner(machine: machine, random: SplitMix64(seed: &seed)))
        (jobs, jobsContinuation) = AsyncStream.makeStream(of: Job.self)
        self.connector = connector
        self.codec = codec
        self.heartbeatCodec = codec as? MessagePackCodec
        self.serverIDBytes = Array(serverID.utf8)
        self.metadata = metadata
        self.prefetchMetadata = prefetchMetadata && metadata != nil
        self.isFatalConnectionError = isFatalConnectionError
        self.logger = instruments.logger
        self.instruments = instruments
        self.observation = TransportObservation(instruments: instruments, serverID: serverID, clientID: clientID)
        self.recordsSendBuffer = observation.recordsSendBuffer
        self.serverID = serverID
        self.clientID = clientID
    }

    // MARK: Inspection (tests and diagnostics)

    /// Whether the timer task sleeps (tests wait for it before setting a deadline).
    package var timerIsAsleep: Bool { inner.withLock { $0.timerSleeper != nil } }

    /// How often the timer re-armed for a deadline traffic pushed later, without waking its
    /// task (real clock only).
    package var timerRearmsWithoutWaking: Int { inner.withLock { $0.timerRearmsWithoutWaking } }

    /// How many heartbeats the fast path handled (recognised from their bytes, not decoded).
    package var heartbeatsWithoutDecoding: Int { inner.withLock { $0.heartbeatsWithoutDecoding } }

    /// How many tasks are waiting for send-buffer room.
    package var writersWaitingForRoom: Int { inner.withLock { $0.roomWaiters.count } }

    /// How many streams are registered (tests use it to see that ended calls leave nothing
    /// behind).
    package var registeredStreamCount: Int { inner.withLock { $0.streams.count } }

    /// The live session's id, if any.
    package var sessionID: String? { inner.withLock { $0.machine.sessionID } }

    /// The seq the next message of the live session gets (tests use it to see that nothing
    /// was sent).
    package var nextSeq: Int? { inner.withLock { $0.machine.nextSeq } }

    /// Whether a graceful shutdown has begun.
    package var isDraining: Bool { inner.withLock { $0.draining } }

    /// Whether ``close(cause:)`` was called.
    package var isClosed: Bool { inner.withLock { $0.closed } }

    // MARK: The lock

    /// Runs a machine event under the lock (with a fresh jitter fraction) and carries out its
    /// actions.
    func apply(_ body: (inout SessionStateMachine, ContinuousClock.Instant, Double) -> [SessionStateMachine.Action]) {
        locked { inner in
            let jitter = inner.random.nextFraction()
            var actions = body(&inner.machine, clock.now, jitter)
            perform(&actions, in: &inner)
        }
    }

    /// Runs `body` under the lock, then resumes the tasks it queued in `wakeups` (and closes
    /// a draining transport whose last stream it ended).
    func locked<Value, E: Error>(_ body: (inout Inner) throws(E) -> Value) throws(E) -> Value {
        var wakeups = Wakeups()
        var flush: (any RiverFastPathConnection)?
        var closeNow = false
        defer {
            flush?.flush()
            wakeups.resumeAll()
            if closeNow { close() }
        }
        return try inner.withLock { inner throws(E) -> Value in
            defer {
                inner.rearmTimerIfEarlier()
                swap(&wakeups, &inner.wakeups)
                swap(&flush, &inner.flushWhenUnlocked)
                closeNow = inner.closeWhenUnlocked
                inner.closeWhenUnlocked = false
            }
            return try body(&inner)
        }
    }
}

import Dispatch
import DequeModule
import Logging
import Synchronization

/// The shell around ``SessionStateMachine``: it dials through a ``RiverConnector``, feeds
/// frames, closes and timer ticks into the machine, and carries out its actions. Streams of
/// the client register here to receive their messages.
///
/// All machine calls and every write happen under one lock, so messages reach the wire in
/// seq order. Readers and writers that an action wakes are resumed after the lock is released
/// (``locked(_:)``), so no wake-up syscall runs while others wait for the lock. Async work
/// (dialing, building handshake metadata, the timer) runs as child tasks of ``run()``.
package final class ClientTransport: Sendable {
    /// What a registered stream receives.
    package enum StreamEvent: Sendable {
        /// A message for the stream.
        case message(TransportMessage)
        /// The stream ended locally (session lost, cancelled, deadline) with this error.
        case failed(RiverError)
    }

    /// A registered stream: where its messages go (and why it ended locally), and which
    /// sides have closed (once both have, the registration is removed).
    private struct StreamRegistration {
        var inbox: CallInbox
        /// This client sent CLOSE (an rpc or subscription does so with its open message).
        var localClosed: Bool
        /// The server closed its side.
        var remoteClosed = false

        /// Ends the stream with `error`; the reader to wake goes to `wakeups`.
        func end(with error: RiverError, wakeups: inout Wakeups) {
            inbox.recordFailure(error)
            if let reader = inbox.push(.failed(error)) { wakeups.append(reader) }
            if let reader = inbox.end() { wakeups.append(reader) }
        }
    }

    /// Tasks to resume once the lock is released. Usually there is one (the reader a reply
    /// is for), which is kept inline: no array is allocated for it.
    private struct Wakeups {
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

    private enum Job: Sendable {
        case dial(UInt64)
        case metadata(UInt64)
        case rehandshake(String)
        case stop
    }

    private struct Inner: ~Copyable {
        var machine: SessionStateMachine
        var connection: (attempt: UInt64, conn: any RiverConnection)?
        var abandoned: Set<UInt64> = []
        /// Attempts whose metadata is being built while dialing (their dial task delivers it).
        var prefetching: Set<UInt64> = []
        var streams: [String: StreamRegistration] = [:]
        var roomWaiters: [UInt64: UnsafeContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<RiverEvent>.Continuation] = [:]
        var nextSubscriberID: UInt64 = 0
        var random: SplitMix64
        var closed = false
        var draining = false
        /// Tasks to resume once the lock is released (stream readers, writers waiting for room).
        var wakeups = Wakeups()
        /// A connection that queued messages and must be woken once the lock is released.
        var flushWhenUnlocked: (any RiverConnection)?
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

        /// Removes a stream (both sides closed, or it ended locally with `error`), waking its
        /// reader; a draining transport closes once its last stream is gone.
        mutating func remove(streamID: String, endingWith error: RiverError? = nil) {
            if let registration = streams.removeValue(forKey: streamID) {
                if let error {
                    registration.end(with: error, wakeups: &wakeups)
                } else if let reader = registration.inbox.end() {
                    wakeups.append(reader)
                }
            }
            closeIfDrained()
        }

        /// Asks for the close of a draining transport that has no streams left.
        mutating func closeIfDrained() {
            if draining && streams.isEmpty { closeWhenUnlocked = true }
        }
    }

    private let inner: AdaptiveMutex<Inner>
    private let jobs: AsyncStream<Job>
    private let jobsContinuation: AsyncStream<Job>.Continuation
    private let connector: any RiverConnector
    private let codec: any RiverCodec
    /// Encodes outbound messages before the lock is taken (the machine only adds seq and ack).
    private let encoder: SessionStateMachine.OutboundEncoder
    private let metadata: (@Sendable () async throws -> RiverValue?)?
    private let prefetchMetadata: Bool
    private let isFatalConnectionError: @Sendable (any Error) -> Bool
    private let logger: Logger
    /// Spans, metrics and log lines for the machine's connection and session events.
    package let observation: TransportObservation
    private let clock = ContinuousClock()

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
        instruments: RiverInstruments
    ) {
        let machine = SessionStateMachine(configuration: configuration, clientID: clientID, serverID: serverID, codec: codec)
        self.encoder = machine.encoder
        var seed = randomSeed ?? UInt64.random(in: .min ... .max)
        self.inner = AdaptiveMutex(Inner(machine: machine, random: SplitMix64(seed: &seed)))
        (jobs, jobsContinuation) = AsyncStream.makeStream(of: Job.self)
        self.connector = connector
        self.codec = codec
        self.metadata = metadata
        self.prefetchMetadata = prefetchMetadata && metadata != nil
        self.isFatalConnectionError = isFatalConnectionError
        self.logger = instruments.logger
        self.observation = TransportObservation(instruments: instruments, serverID: serverID, clientID: clientID)
        self.serverID = serverID
        self.clientID = clientID
    }

    // MARK: Lifetime

    /// Runs dialing, connection reading and timers until ``close()``.
    package func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.runTimer() }
            for await job in jobs {
                switch job {
                case .dial(let attempt):
                    group.addTask { await self.dial(attempt: attempt) }
                case .metadata(let attempt):
                    group.addTask { await self.buildMetadata(attempt: attempt) }
                case .rehandshake(let sessionID):
                    group.addTask { await self.buildRehandshake(sessionID: sessionID) }
                case .stop:
                    group.cancelAll()
                    return
                }
            }
        }
    }

    /// Starts connecting now (otherwise the first send connects).
    package func connect() {
        apply { machine, now, jitter in machine.connect(now: now, jitter: jitter) }
    }

    /// Destroys the session: calls fail with UNEXPECTED_DISCONNECT; the next call starts a new one.
    package func hardDisconnect() {
        apply { machine, _, _ in machine.hardDisconnect() }
    }

    /// Closes for good: every stream fails, later sends fail with "transport is closed",
    /// and ``run()`` returns.
    package func close() {
        let first = inner.withLock { inner -> Bool in
            if inner.closed { return false }
            inner.closed = true
            return true
        }
        guard first else { return }
        apply { machine, _, _ in machine.close() }
        let subscribers = inner.withLock { inner in
            let subscribers = Array(inner.subscribers.values)
            inner.subscribers.removeAll()
            return subscribers
        }
        for subscriber in subscribers { subscriber.finish() }
        observation.finish()
        jobsContinuation.yield(.stop)
        jobsContinuation.finish()
    }

    /// Graceful shutdown: new streams are refused at once; when the last registered stream
    /// ends, the transport closes.
    package func beginDraining() {
        let idle = inner.withLock { inner -> Bool in
            inner.draining = true
            return inner.streams.isEmpty
        }
        if idle { close() }
    }

    /// How many writers are waiting for send-buffer room (for tests and diagnostics).
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

    /// Whether ``close()`` was called.
    package var isClosed: Bool { inner.withLock { $0.closed } }

    /// A new subscription to connection and session events.
    package func events() -> AsyncStream<RiverEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RiverEvent.self, bufferingPolicy: .bufferingNewest(1024))
        let id = inner.withLock { inner -> UInt64? in
            if inner.closed { return nil }
            let id = inner.nextSubscriberID
            inner.nextSubscriberID += 1
            inner.subscribers[id] = continuation
            return id
        }
        if let id {
            continuation.onTermination = { [weak self] _ in
                _ = self?.inner.withLock { $0.subscribers.removeValue(forKey: id) }
            }
        } else {
            continuation.finish()
        }
        return stream
    }

    // MARK: Streams

    /// Registers a stream and sends its open message, in one step under the lock (waiting for
    /// send-buffer room first). Its messages then arrive in `inbox`.
    /// - Returns: The id of the session the stream was opened in.
    /// - Throws: ``RiverError`` (closed or draining transport, too large, encoding).
    package func open(
        _ outbound: SessionStateMachine.Outbound, inbox: CallInbox
    ) async throws(RiverError) -> String? {
        let streamID = outbound.streamId
        let registration = StreamRegistration(
            inbox: inbox, localClosed: outbound.controlFlags.contains(.streamClosed))
        // Moved out (`take()`) when sent, so the machine appends to its bytes without a copy.
        var prepared: SessionStateMachine.PreparedMessage? = try prepare(outbound)
        while true {
            let result = locked { inner -> Result<String?, RiverError>? in
                if inner.closed || inner.draining {
                    return .failure(RiverError(code: .unexpectedDisconnect, message: "transport is closed"))
                }
                // Taken exactly once: past this point the loop always ends.
                guard inner.machine.hasRoom(forBytes: 0), let message = prepared.take() else { return nil }
                inner.streams[streamID] = registration
                do throws(RiverError) {
                    _ = try send(message, streamID: streamID, in: &inner)
                } catch {
                    inner.streams.removeValue(forKey: streamID)
                    return .failure(error)
                }
                return .success(inner.machine.sessionID)
            }
            if let result { return try result.get() }
            await waitForRoomSignal()
            if Task.isCancelled {
                throw RiverError(code: .cancel, message: "cancelled while waiting for send-buffer room")
            }
        }
    }

    /// Removes a stream: later messages for it are dropped.
    package func unregister(streamID: String) {
        locked { inner in inner.remove(streamID: streamID) }
    }

    /// Cancels a stream atomically: sends `cancel` (when the transport can) and ends the stream
    /// locally with `error`, under one lock, so no message the server sends afterwards (a
    /// CLOSE answering the cancel, say) can reach the stream's reader.
    package func cancel(streamID: String, sending cancel: SessionStateMachine.Outbound, with error: RiverError) {
        var prepared = try? prepare(cancel)
        locked { inner in
            if let message = prepared.take() { _ = try? send(message, streamID: streamID, in: &inner) }
            inner.remove(streamID: streamID, endingWith: error)
        }
    }

    /// Sends a message, waiting for send-buffer room first when `waitForRoom` (data messages).
    /// - Returns: The message's seq.
    /// - Throws: ``RiverError`` (closed, too large, encoding).
    @discardableResult
    package func send(_ outbound: SessionStateMachine.Outbound, waitForRoom: Bool) async throws(RiverError) -> Int {
        var prepared: SessionStateMachine.PreparedMessage? = try prepare(outbound)
        while true {
            let result = locked { inner -> Result<Int, RiverError>? in
                if waitForRoom, !inner.machine.hasRoom(forBytes: 0) { return nil }
                // Taken exactly once: past this point the loop always ends.
                guard let message = prepared.take() else { return nil }
                return Result { () throws(RiverError) -> Int in
                    try send(message, streamID: outbound.streamId, in: &inner)
                }
            }
            if let result { return try result.get() }
            await waitForRoomSignal()
            if Task.isCancelled {
                throw RiverError(code: .cancel, message: "cancelled while waiting for send-buffer room")
            }
        }
    }

    /// Sends without waiting (control messages: CLOSE, CANCEL). A CLOSE closes the stream's
    /// local side; once the server's side is closed too, the stream is unregistered.
    @discardableResult
    package func sendNow(_ outbound: SessionStateMachine.Outbound) throws(RiverError) -> Int {
        // Control messages are rare: this copy (the machine then copies the bytes once more to
        // append seq and ack) is not worth the hand-over the hot paths use.
        let prepared = try prepare(outbound)
        return try locked { inner throws(RiverError) -> Int in
            let seq = try send(prepared, streamID: outbound.streamId, in: &inner)
            if outbound.controlFlags.contains(.streamClosed), var registration = inner.streams[outbound.streamId] {
                if registration.remoteClosed {
                    inner.remove(streamID: outbound.streamId)
                } else {
                    registration.localClosed = true
                    inner.streams[outbound.streamId] = registration
                }
            }
            return seq
        }
    }

    /// The seq of the oldest unacknowledged message of the current session, and its id.
    package var acknowledgement: (sessionID: String?, firstUnacked: Int?) {
        inner.withLock { inner in (inner.machine.sessionID, inner.machine.firstUnackedSeq) }
    }

    /// Encodes `outbound` as far as possible without the lock (see ``SessionStateMachine/OutboundEncoder``).
    private func prepare(_ outbound: SessionStateMachine.Outbound) throws(RiverError) -> SessionStateMachine.PreparedMessage {
        do {
            return try encoder.prepare(outbound)
        } catch {
            throw Self.riverError(error)
        }
    }

    private func send(
        _ prepared: consuming SessionStateMachine.PreparedMessage, streamID: String, in inner: inout Inner
    ) throws(RiverError) -> Int {
        // A stream's messages belong to the session it was opened on: once the stream has
        // ended (its session destroyed, or cancelled) nothing more is sent for it, and
        // certainly not into a new session.
        guard inner.closed || inner.streams[streamID] != nil else {
            throw RiverError(code: .cancel, message: "the call has ended")
        }
        let now = clock.now
        let jitter = inner.random.nextFraction()
        do {
            var actions = inner.takeActionBuffer()
            defer { inner.returnActionBuffer(&actions) }
            let seq = try inner.machine.send(prepared, now: now, jitter: jitter, into: &actions)
            perform(&actions, in: &inner)
            return seq
        } catch {
            throw Self.riverError(error)
        }
    }

    private static func riverError(_ error: SessionStateMachine.SendError) -> RiverError {
        switch error {
        case .closed:
            RiverError(code: .unexpectedDisconnect, message: "transport is closed")
        case .tooLarge(let bytes, let limit):
            RiverError(code: .payloadTooLarge, message: "message of \(bytes) bytes exceeds the limit of \(limit) bytes")
        case .encoding(let message):
            RiverError(code: .encodingFailure, message: message)
        }
    }

    private func waitForRoomSignal() async {
        let id = inner.withLock { inner -> UInt64 in
            let id = inner.nextWaiterID
            inner.nextWaiterID += 1
            return id
        }
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let ready = inner.withLock { inner -> Bool in
                    if inner.machine.hasRoom(forBytes: 0) || inner.closed || Task.isCancelled { return true }
                    inner.roomWaiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = inner.withLock { $0.roomWaiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    // MARK: The machine

    private func apply(_ body: (inout SessionStateMachine, ContinuousClock.Instant, Double) -> [SessionStateMachine.Action]) {
        locked { inner in
            let jitter = inner.random.nextFraction()
            var actions = body(&inner.machine, clock.now, jitter)
            perform(&actions, in: &inner)
        }
    }

    /// Runs `body` under the lock, then resumes the tasks it queued in `wakeups` (and closes
    /// a draining transport whose last stream it ended).
    private func locked<Value, E: Error>(_ body: (inout Inner) throws(E) -> Value) throws(E) -> Value {
        var wakeups = Wakeups()
        var flush: (any RiverConnection)?
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

    /// Carries out actions under the lock, in order, moving each out of `actions` (which ends
    /// empty, its memory kept); async work is handed to ``run()``.
    private func perform(_ actions: inout [SessionStateMachine.Action], in inner: inout Inner) {
        defer {
            if observation.recordsSendBuffer {
                observation.recordSendBuffer(messages: inner.machine.bufferedCount, bytes: inner.machine.bufferedBytes)
            }
        }
        // Reversed once, then popped from the end: each action is moved out, not copied.
        actions.reverse()
        while let action = actions.popLast() {
            switch action {
            case .dial(let attempt):
                jobsContinuation.yield(.dial(attempt))
            case .abandonAttempt(let attempt):
                if let current = inner.connection, current.attempt == attempt {
                    current.conn.abort()
                    inner.connection = nil
                } else {
                    inner.abandoned.insert(attempt)
                }
            case .constructMetadata(let attempt):
                if inner.prefetching.remove(attempt) == nil {
                    jobsContinuation.yield(.metadata(attempt))
                }
            case .constructRehandshakeMetadata(let sessionID):
                jobsContinuation.yield(.rehandshake(sessionID))
            case .write(let bytes):
                // The connection is woken after the lock is released (see `locked`).
                if let connection = inner.connection?.conn, connection.enqueue(bytes) {
                    inner.flushWhenUnlocked = connection
                }
            case .closeConnection(let reason):
                logger.debug("closing connection", metadata: ["river.reason": "\(reason)"])
                inner.connection?.conn.close(code: 1000, reason: "")
                inner.connection = nil
            case .deliver(let message):
                guard var registration = inner.streams[message.streamId] else { break }
                let cancelled = message.controlFlags.contains(.streamCancel)
                if cancelled {
                    // The server cancelled: the call's writer must stop at once, even while
                    // nobody is reading the responses (an upload still writing).
                    registration.inbox.recordFailure(CallReader.cancelError(message.payload))
                }
                if let reader = registration.inbox.push(.message(message)) { inner.wakeups.append(reader) }
                // The stream is over when the server cancelled, or closed after this client did.
                if cancelled || message.controlFlags.contains(.streamClosed) {
                    if cancelled || registration.localClosed {
                        inner.remove(streamID: message.streamId)
                    } else {
                        registration.remoteClosed = true
                        inner.streams[message.streamId] = registration
                    }
                }
            case .failAllStreams(let message):
                let error = RiverError(code: .unexpectedDisconnect, message: message)
                for registration in inner.streams.values { registration.end(with: error, wakeups: &inner.wakeups) }
                inner.streams.removeAll()
                inner.closeIfDrained()
            case .bufferHasRoom:
                for waiter in inner.roomWaiters.values { inner.wakeups.append(waiter) }
                inner.roomWaiters.removeAll()
            case .emit(let event):
                // A new session's span context goes into its handshakes.
                if let tracing = observation.record(event) { inner.machine.handshakeTracing = tracing }
                for subscriber in inner.subscribers.values { subscriber.yield(event) }
            }
        }
    }

    // MARK: Child tasks

    /// Ticks the machine at its deadlines. The task sleeps to the next deadline (or until
    /// woken, with none); an event that moves the deadline earlier wakes it at once
    /// (``Inner/rearmTimerIfEarlier()``), so an idle client never wakes and no deadline fires
    /// late by more than the system timer's slack.
    private func runTimer() async {
        while !Task.isCancelled {
            await sleepToNextDeadline()
            if Task.isCancelled { return }
            apply { machine, now, jitter in machine.tick(now: now, jitter: jitter) }
        }
    }

    private func sleepToNextDeadline() async {
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (sleeper: UnsafeContinuation<Void, Never>) in
                let due = inner.withLock { inner -> Bool in
                    let deadline = inner.machine.nextDeadline
                    inner.timerCheckedDeadlines = inner.machine.deadlineGeneration
                    if Task.isCancelled { return true }
                    if let deadline, deadline <= clock.now { return true }
                    inner.timerGeneration &+= 1
                    inner.timerSleeper = sleeper
                    inner.timerArmedFor = deadline
                    if let deadline {
                        let generation = inner.timerGeneration
                        let delay = clock.now.duration(to: deadline)
                        let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
                        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds) + 1)) {
                            [weak self] in self?.timerFired(generation: generation)
                        }
                    }
                    return false
                }
                if due { sleeper.resume() }
            }
        } onCancel: {
            timerFired(generation: nil)
        }
    }

    /// The deadline of sleep `generation` passed (`nil`: wake whatever sleep there is).
    private func timerFired(generation: UInt64?) {
        let sleeper = inner.withLock { inner -> UnsafeContinuation<Void, Never>? in
            guard generation == nil || generation == inner.timerGeneration else { return nil }
            defer { inner.timerSleeper = nil }
            return inner.timerSleeper
        }
        sleeper?.resume()
    }

    private func dial(attempt: UInt64) async {
        let timeout = inner.withLock { $0.machine.configuration.connectionTimeout }
        // With prefetching, the metadata (say, a token fetch) is built while the socket opens.
        let prefetch = prefetchMetadata
        async let prefetched: Result<RiverValue?, MetadataError>? = prefetch ? await constructMetadata() : nil
        let connection: any RiverConnection
        do {
            connection = try await connector.connect(timeout: timeout)
        } catch {
            let fatal = isFatalConnectionError(error)
            logger.debug("connect failed", metadata: ["river.error": "\(error)", "river.attempt": "\(attempt)"])
            apply { machine, now, jitter in
                machine.dialFailed(attempt: attempt, reason: "\(error)", fatal: fatal, now: now, jitter: jitter)
            }
            return
        }
        let accepted = locked { inner -> Bool in
            if inner.abandoned.remove(attempt) != nil { return false }
            var actions = inner.machine.dialSucceeded(attempt: attempt, now: clock.now)
            guard case .handshaking(let current, _, _) = inner.machine.state, current == attempt else { return false }
            inner.connection = (attempt, connection)
            if prefetch { inner.prefetching.insert(attempt) }
            perform(&actions, in: &inner)
            return true
        }
        guard accepted else {
            connection.abort()
            return
        }
        if let result = await prefetched {
            apply { machine, now, _ in machine.metadataReady(attempt: attempt, result: result, now: now) }
        }
        // Connections that can call back on their I/O thread skip a hop through this task.
        let dispatcher = ConnectionEventDispatcher(label: "river.client.inbound") { [self] event in
            handle(event, attempt: attempt)
        }
        if connection.deliverEvents(to: dispatcher.dispatch) { return }
        for await event in connection.events {
            handle(event, attempt: attempt)
        }
    }

    /// One event of the connection of `attempt`: a frame for the machine, or its end.
    private func handle(_ event: RiverConnectionEvent, attempt: UInt64) {
        switch event {
        case .message(let bytes):
            // Decoded before taking the lock, so other tasks' sends are not held up by it.
            let decoded = Result { () throws(RiverCodecError) in try codec.decode(bytes) }
            locked { inner in
                let jitter = inner.random.nextFraction()
                var actions = inner.takeActionBuffer()
                defer { inner.returnActionBuffer(&actions) }
                inner.machine.frameReceived(decoded: decoded, now: clock.now, jitter: jitter, into: &actions)
                perform(&actions, in: &inner)
            }
        case .textMessage:
            apply { machine, now, jitter in machine.textFrameReceived(now: now, jitter: jitter) }
        case .closed(let closure):
            locked { inner in
                if inner.connection?.attempt == attempt { inner.connection = nil }
                let jitter = inner.random.nextFraction()
                var actions =
                    closure.initiatedLocally && closure.code == 1009
                    ? inner.machine.inboundMessageTooLarge(attempt: attempt, reason: closure.description)
                    : inner.machine.connectionClosed(
                        attempt: attempt, reason: closure.description, now: clock.now, jitter: jitter)
                perform(&actions, in: &inner)
            }
        }
    }

    private func buildMetadata(attempt: UInt64) async {
        let result = await constructMetadata()
        apply { machine, now, _ in machine.metadataReady(attempt: attempt, result: result, now: now) }
    }

    private func constructMetadata() async -> Result<RiverValue?, MetadataError> {
        guard let metadata else { return .success(nil) }
        do {
            return .success(try await metadata())
        } catch {
            return .failure(MetadataError("\(error)"))
        }
    }

    private func buildRehandshake(sessionID: String) async {
        guard let metadata else {
            logger.warning("server asked for a rehandshake but no handshake metadata is configured")
            return
        }
        do {
            let value = try await metadata() ?? .null
            apply { machine, now, jitter in
                machine.rehandshakeMetadataReady(sessionID: sessionID, metadata: value, now: now, jitter: jitter)
            }
        } catch {
            logger.error("could not build rehandshake metadata", metadata: ["river.error": "\(error)"])
        }
    }
}

/// A small, fast, seedable random generator (SplitMix64) for backoff jitter and tests.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed (the seed is advanced so consecutive generators differ).
    public init(seed: inout UInt64) {
        state = seed
        seed &+= 0x9E37_79B9_7F4A_7C15
    }

    /// Creates a generator from a fixed seed.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// SplitMix64's output function: a bijection that scrambles a counter value.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform fraction in `0..<1`.
    public mutating func nextFraction() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}

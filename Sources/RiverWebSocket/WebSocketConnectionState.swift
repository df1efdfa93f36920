/// Where one ``WebSocketConnection`` is in its life, as a plain value: events in (a connect
/// starts, the socket opens, a close or an abort is requested, the socket is gone), what the
/// connection must do out.
///
/// ```
/// client: idle → connecting → open → closing → finished
/// server:        upgrading  → open ↗         ↗
///                   any of these → aborted ──┘   (abort, or a connect that gave up)
/// ```
///
/// The connection keeps it under its lock; `Waiter` is what a client's connect waits on (a
/// continuation there, anything in tests).
package struct WebSocketConnectionState<Waiter> {
    /// The phase of the connection.
    package enum Phase {
        /// A client connection whose connect has not started.
        case idle
        /// A client connection waiting for its WebSocket to open; `Waiter` learns how it ends.
        case connecting(Waiter)
        /// A server connection whose HTTP upgrade is completing.
        case upgrading
        /// Open: messages flow both ways.
        case open
        /// A clean close was asked for: queued messages go out, then a close frame with this
        /// code and reason.
        case closing(code: UInt16, reason: String)
        /// Dropped at once (``WebSocketConnection/abort()``, or a connect that timed out or was
        /// cancelled): nothing more is written, the socket is shut.
        case aborted(wasOpen: Bool)
        /// The connection is gone; `wasOpen` says whether it ever opened (only then does its
        /// consumer get a `.closed` event).
        case finished(wasOpen: Bool)
    }

    /// What an abort asks of the connection.
    package enum Abort {
        /// Already aborted or finished: nothing.
        case none
        /// Drop the socket.
        case drop
        /// Drop the socket and fail the connect waiting on it.
        case dropFailingConnect(Waiter)
    }

    /// What a connect that gave up (its timeout passed, or its task was cancelled) asks of the
    /// connection.
    package enum GiveUp {
        /// The connect had already ended (opened or failed): nothing.
        case none
        /// The connect never started: fail it when it does (nothing to drop).
        case failBeforeStart
        /// Drop the attempt and fail the waiting connect.
        case dropFailingConnect(Waiter)
    }

    /// What the end of the socket asks of the connection.
    package enum Finish {
        /// Already finished: nothing.
        case none
        /// The connection had opened: its consumer gets `.closed`.
        case deliverClosed
        /// It never opened: end its event stream silently, and fail the connect still waiting
        /// on it, if any.
        case endSilently(failingConnect: Waiter?)
    }

    /// What the writable callback does besides writing queued messages.
    package enum WriteEnd: Equatable {
        /// Nothing: wait for more messages.
        case idle
        /// Drop the socket without a close frame.
        case drop
        /// Send a close frame with this code and reason.
        case close(code: UInt16, reason: String)
    }

    /// The current phase.
    package private(set) var phase: Phase

    /// A client connection starts ``Phase/idle``, a server connection ``Phase/upgrading``.
    package init(isServer: Bool) {
        phase = isServer ? .upgrading : .idle
    }

    /// Whether messages may be queued and a close requested (only while open).
    package var isOpen: Bool {
        if case .open = phase { true } else { false }
    }

    /// Whether the connection is finished.
    package var isFinished: Bool {
        if case .finished = phase { true } else { false }
    }

    /// Whether the client connect attempt is still waiting (its command should still run).
    package var isConnecting: Bool {
        if case .connecting = phase { true } else { false }
    }

    /// What the writable callback does besides writing queued messages: drop the socket
    /// before anything else (aborted), send a close frame once the queue is empty (closing),
    /// or nothing.
    package var writeEnd: WriteEnd {
        switch phase {
        case .aborted: .drop
        case .closing(let code, let reason): .close(code: code, reason: reason)
        case .idle, .connecting, .upgrading, .open, .finished: .idle
        }
    }

    /// A client connect starts waiting on `waiter`.
    /// - Returns: `false` when the attempt already gave up (it was cancelled before it began):
    ///   the caller fails `waiter` at once.
    package mutating func startConnecting(_ waiter: Waiter) -> Bool {
        guard case .idle = phase else { return false }
        phase = .connecting(waiter)
        return true
    }

    /// The WebSocket opened (client: the upgrade was accepted; server: the upgrade completed).
    /// - Returns: Whether the connection may go on (`false` when the attempt was given up or
    ///   aborted meanwhile: the socket must close), and the connect waiting for it.
    package mutating func opened() -> (proceed: Bool, waiter: Waiter?) {
        switch phase {
        case .connecting(let waiter):
            phase = .open
            return (true, waiter)
        case .upgrading:
            phase = .open
            return (true, nil)
        case .open, .closing:
            return (true, nil)
        case .idle, .aborted, .finished:
            return (false, nil)
        }
    }

    /// The connect timed out or its task was cancelled.
    package mutating func connectGaveUp() -> GiveUp {
        switch phase {
        case .idle:
            phase = .finished(wasOpen: false)
            return .failBeforeStart
        case .connecting(let waiter):
            phase = .aborted(wasOpen: false)
            return .dropFailingConnect(waiter)
        case .upgrading, .open, .closing, .aborted, .finished:
            return .none
        }
    }

    /// The connect attempt failed without ever opening (an error from libwebsockets, or the
    /// socket went away first).
    /// - Returns: The connect waiting for it, to be failed; `nil` when none waits.
    package mutating func connectFailed() -> Waiter? {
        guard case .connecting(let waiter) = phase else { return nil }
        phase = .finished(wasOpen: false)
        return waiter
    }

    /// A clean close is requested.
    /// - Returns: Whether it was accepted (only while open); the caller then arms a write.
    package mutating func requestClose(code: UInt16, reason: String) -> Bool {
        guard case .open = phase else { return false }
        phase = .closing(code: code, reason: reason)
        return true
    }

    /// An abort is requested.
    package mutating func requestAbort() -> Abort {
        switch phase {
        case .idle, .upgrading:
            phase = .aborted(wasOpen: false)
            return .drop
        case .connecting(let waiter):
            phase = .aborted(wasOpen: false)
            return .dropFailingConnect(waiter)
        case .open, .closing:
            phase = .aborted(wasOpen: true)
            return .drop
        case .aborted, .finished:
            return .none
        }
    }

    /// The socket is gone (closed, refused, dropped, or this side decided to end it).
    package mutating func finish() -> Finish {
        switch phase {
        case .finished:
            return .none
        case .open, .closing, .aborted(wasOpen: true):
            phase = .finished(wasOpen: true)
            return .deliverClosed
        case .connecting(let waiter):
            phase = .finished(wasOpen: false)
            return .endSilently(failingConnect: waiter)
        case .idle, .upgrading, .aborted(wasOpen: false):
            phase = .finished(wasOpen: false)
            return .endSilently(failingConnect: nil)
        }
    }
}

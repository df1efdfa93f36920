/// The timer: one child task of ``ClientTransport/run()`` that ticks the machine at its
/// deadlines.
extension ClientTransport {
    /// Ticks the machine at its deadlines. The task sleeps to the next deadline (or until
    /// woken, with none); an event that moves the deadline earlier wakes it at once
    /// (``Inner/rearmTimerIfEarlier()``), so an idle client never wakes and no deadline fires
    /// late by more than the system timer's slack.
    func runTimer() async {
        // What the timer thread's wake-ups reach this transport through: not a weak capture
        // (see ``ScopedReference``), and dropped when this task ends.
        let link = ScopedReference(self)
        defer { link.clear() }
        while !Task.isCancelled {
            await sleepToNextDeadline(link)
            if Task.isCancelled { return }
            apply { machine, now, jitter in machine.tick(now: now, jitter: jitter) }
        }
    }

    private func sleepToNextDeadline(_ link: ScopedReference<ClientTransport>) async {
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (sleeper: UnsafeContinuation<Void, Never>) in
                enum Step {
                    case due
                    case sleep(wakeAt: ContinuousClock.Instant?, generation: UInt64)
                }
                let step = inner.withLock { inner -> Step in
                    let deadline = inner.machine.nextDeadline
                    inner.timerCheckedDeadlines = inner.machine.deadlineGeneration
                    if Task.isCancelled { return .due }
                    if let deadline, deadline <= clock.now { return .due }
                    inner.timerGeneration &+= 1
                    inner.timerSleeper = sleeper
                    inner.timerArmedFor = deadline
                    return .sleep(wakeAt: deadline, generation: inner.timerGeneration)
                }
                switch step {
                case .due:
                    sleeper.resume()
                case .sleep(let deadline?, let generation):
                    // Armed after the lock is released: a clock may run the action at once.
                    arm(deadline, generation: generation, link: link)
                case .sleep(nil, _):
                    break
                }
            }
        } onCancel: {
            timerFired(generation: nil)
        }
    }

    /// Arms the wake-up of sleep `generation` for `deadline`: on the process's timer thread
    /// with the real clock, through ``RiverClock/schedule(at:_:)`` with an injected one.
    private func arm(_ deadline: ContinuousClock.Instant, generation: UInt64, link: ScopedReference<ClientTransport>) {
        if clock is ContinuousRiverClock {
            DeadlineTimerThread.shared.scheduleRepeating(atUptimeNanoseconds: DeadlineTimerThread.uptimeNanoseconds(deadline)) {
                link.object?.timerDue(generation: generation)
            }
        } else {
            clock.schedule(at: deadline) { link.object?.timerFired(generation: generation) }
        }
    }

    /// The timer thread's wake-up of sleep `generation` came. When the machine's next deadline
    /// has only moved later meanwhile (traffic pushing the heartbeat watchdog back, the usual
    /// case on an idle connection), the task sleeps on and the wake-up is re-armed for that
    /// deadline (its entry goes back into the timer thread's heap: the returned `DispatchTime`
    /// value); otherwise the task is woken to tick. Only with the real clock: an injected
    /// clock's wake-ups always wake the task (``timerFired(generation:)``).
    /// - Returns: When to run again, or `nil`.
    private func timerDue(generation: UInt64) -> UInt64? {
        enum Next {
            case stale
            case wake(UnsafeContinuation<Void, Never>)
            case rearm(ContinuousClock.Instant)
        }
        let next = inner.withLock { inner -> Next in
            guard generation == inner.timerGeneration, let sleeper = inner.timerSleeper else { return .stale }
            if let deadline = inner.machine.nextDeadline, deadline > clock.now {
                // The same sleep, and so the same generation: this wake-up is its only one.
                inner.timerArmedFor = deadline
                inner.timerCheckedDeadlines = inner.machine.deadlineGeneration
                inner.timerRearmsWithoutWaking += 1
                return .rearm(deadline)
            }
            inner.timerSleeper = nil
            return .wake(sleeper)
        }
        switch next {
        case .stale:
            return nil
        case .wake(let sleeper):
            sleeper.resume()
            return nil
        case .rearm(let deadline):
            return DeadlineTimerThread.uptimeNanoseconds(deadline)
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
}

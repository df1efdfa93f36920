/// When the service thread next owes libwebsockets a pass of its own.
///
/// lws runs its timers (the timeouts River sets with `lws_set_timeout`, and its own
/// housekeeping) only inside `lws_service`, whose `poll(2)` visits every socket: about 0.6 µs
/// per socket here, so 0.3 ms per pass with 500 connections. The service thread otherwise
/// sleeps in epoll and serves ready sockets alone, so these passes are what idle connections
/// cost beyond their own traffic. While a River timeout is pending (a close waiting for its
/// answer, an accepted socket waiting for its upgrade request) lws gets a pass at least every
/// ``whileTimeoutsPending``, so such a timeout fires at most that late; with none pending, only
/// lws' housekeeping (tens of seconds apart) is left, and one pass every ``otherwise`` is
/// enough. Connects, writable callbacks, paused reading and lws' TLS make the service thread
/// wait in lws' poll itself, so they never depend on this schedule.
///
/// Service thread only (a value the runtime owns).
package struct LWSPassSchedule {
    /// An empty schedule: the first pass is due at once.
    package init() {}

    /// The longest gap between lws' passes while a River timeout is pending.
    package static let whileTimeoutsPending: UInt64 = 200_000_000
    /// The longest gap between lws' passes otherwise.
    package static let otherwise: UInt64 = 2_000_000_000

    /// Sockets (their wsi) with a River-set lws timeout that has not been cleared.
    package private(set) var timedSockets = Set<OpaquePointer>()
    /// When the next pass is due (a `DispatchTime` uptime in nanoseconds).
    package private(set) var nextPass: UInt64 = 0

    /// The gap allowed after a pass now.
    package var interval: UInt64 { timedSockets.isEmpty ? Self.otherwise : Self.whileTimeoutsPending }

    /// River set (`pending`) or cleared a timeout of `wsi`. A new timeout brings the next pass
    /// forward to the shorter interval after `now`.
    package mutating func timeout(of wsi: OpaquePointer, pending: Bool, now: UInt64) {
        if pending {
            timedSockets.insert(wsi)
            nextPass = min(nextPass, now &+ Self.whileTimeoutsPending)
        } else {
            timedSockets.remove(wsi)
        }
    }

    /// `wsi` is gone, and its timeout with it.
    package mutating func socketDestroyed(_ wsi: OpaquePointer) {
        timedSockets.remove(wsi)
    }

    /// lws had a pass at `now`.
    package mutating func passRan(at now: UInt64) {
        nextPass = now &+ interval
    }

    /// Whether a pass is due at `now`.
    package func isDue(at now: UInt64) -> Bool { now >= nextPass }

    /// How long an epoll wait starting at `now` may sleep: until the next pass, in whole
    /// milliseconds rounded up (0 when it is due).
    package func epollTimeoutMilliseconds(at now: UInt64) -> Int32 {
        guard nextPass > now else { return 0 }
        let milliseconds = (nextPass - now + 999_999) / 1_000_000
        return Int32(clamping: milliseconds)
    }
}

import RiverWebSocket
import Testing

/// When the service thread gives libwebsockets a pass of its own (lws runs its timers only
/// there), and how lws' socket table is sized: as values, with no socket.
@Suite("lws pass schedule")
struct LWSPassScheduleTests {
    /// Stand-ins for two wsi pointers (only compared, never dereferenced).
    static var first: OpaquePointer { OpaquePointer(bitPattern: 0x1000)! }
    static var second: OpaquePointer { OpaquePointer(bitPattern: 0x2000)! }
    static let oneSecond = 1_000_000_000 as UInt64

    @Test("with no River timeout pending, lws gets a pass every 2 s; the epoll wait sleeps until then")
    func idleConnectionsGetRarePasses() {
        var schedule = LWSPassSchedule()
        #expect(schedule.isDue(at: 5 * Self.oneSecond))
        schedule.passRan(at: 5 * Self.oneSecond)
        #expect(schedule.nextPass == 7 * Self.oneSecond)
        #expect(!schedule.isDue(at: 6 * Self.oneSecond))
        #expect(schedule.epollTimeoutMilliseconds(at: 5 * Self.oneSecond) == 2_000)
        // Rounded up, so the wait never wakes just before the pass is due.
        #expect(schedule.epollTimeoutMilliseconds(at: 7 * Self.oneSecond - 1) == 1)
        #expect(schedule.epollTimeoutMilliseconds(at: 7 * Self.oneSecond) == 0)
        #expect(schedule.isDue(at: 7 * Self.oneSecond))
    }

    @Test("a pending timeout brings the next pass within 200 ms and keeps passes that close until it is cleared")
    func pendingTimeoutsGetFrequentPasses() {
        var schedule = LWSPassSchedule()
        schedule.passRan(at: 10 * Self.oneSecond)
        schedule.timeout(of: Self.first, pending: true, now: 10 * Self.oneSecond + 50_000_000)
        #expect(schedule.nextPass == 10 * Self.oneSecond + 250_000_000)
        #expect(schedule.epollTimeoutMilliseconds(at: 10 * Self.oneSecond + 50_000_000) == 200)
        schedule.passRan(at: 11 * Self.oneSecond)
        #expect(schedule.nextPass == 11 * Self.oneSecond + 200_000_000)

        // Two sockets with timeouts: passes stay frequent until both are gone.
        schedule.timeout(of: Self.second, pending: true, now: 11 * Self.oneSecond)
        schedule.timeout(of: Self.first, pending: false, now: 11 * Self.oneSecond)
        schedule.passRan(at: 12 * Self.oneSecond)
        #expect(schedule.nextPass == 12 * Self.oneSecond + 200_000_000)
        schedule.socketDestroyed(Self.second)
        #expect(schedule.timedSockets.isEmpty)
        schedule.passRan(at: 13 * Self.oneSecond)
        #expect(schedule.nextPass == 15 * Self.oneSecond)
    }

    @Test("a timeout set just after a pass does not push a pass that is already sooner")
    func newTimeoutNeverDelaysAPass() {
        var schedule = LWSPassSchedule()
        schedule.passRan(at: 0)
        schedule.timeout(of: Self.first, pending: true, now: 0)
        schedule.passRan(at: Self.oneSecond)
        // Due at 1.2 s; a second timeout set at 1.1 s must not move it to 1.3 s.
        schedule.timeout(of: Self.second, pending: true, now: Self.oneSecond + 100_000_000)
        #expect(schedule.nextPass == Self.oneSecond + 200_000_000)
    }

    @Test("lws indexes its socket table by descriptor up to 2^16 allowed descriptors, and is capped there beyond")
    func descriptorTableSize() {
        // 0: lws sizes its tables by the process's limit and indexes them.
        #expect(LWSDescriptorTable.limitPerThread(openFiles: 1_024) == 0)
        #expect(LWSDescriptorTable.limitPerThread(openFiles: 20_000) == 0)
        #expect(LWSDescriptorTable.limitPerThread(openFiles: 65_536) == 0)
        // Beyond: 1 MiB of tables at most (lws zeroes them all).
        #expect(LWSDescriptorTable.limitPerThread(openFiles: 65_537) == 65_536)
        #expect(LWSDescriptorTable.limitPerThread(openFiles: 1 << 20) == 65_536)
        // No limit reported (sysconf gives -1).
        #expect(LWSDescriptorTable.limitPerThread(openFiles: -1) == 65_536)
    }
}

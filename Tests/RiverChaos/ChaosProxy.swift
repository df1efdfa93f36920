#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A fault-injecting TCP proxy on 127.0.0.1, for chaos tests and the soak.
///
/// It listens on an ephemeral port and forwards every accepted connection to
/// `127.0.0.1:upstreamPort`, byte for byte, on one dedicated thread running a `poll` loop
/// (the thread owns every socket; other threads only queue commands). Faults apply to every
/// connection open when they are injected:
/// - ``inject(_:)`` with ``Fault/reset``: both legs are closed with `SO_LINGER 0`, so both
///   peers see a TCP RST (an abrupt network cut). Bytes in flight inside the proxy are lost.
/// - ``Fault/blackhole(cutAfter:)``: the proxy stops reading and writing both legs (the
///   peers see silence, exactly like a dead route), then resets them after `cutAfter`.
///
/// New connections made after a fault are forwarded normally.
public final class ChaosProxy: Sendable {
    /// A network fault.
    public enum Fault: Sendable, Hashable, CustomStringConvertible {
        /// Abort every open connection with a TCP RST, both ways.
        case reset
        /// Stop forwarding both ways on every open connection, then reset it after the delay.
        case blackhole(cutAfter: Duration)

        /// A readable name.
        public var description: String {
            switch self {
            case .reset: "reset"
            case .blackhole(let after): "blackhole(cut after \(after))"
            }
        }
    }

    /// Counters, as of the proxy thread's last loop iteration.
    public struct Statistics: Sendable, Hashable {
        /// Connections accepted (and forwarded).
        public var accepted = 0
        /// Faults that hit at least one open connection.
        public var cuts = 0
        /// Of those, resets.
        public var resets = 0
        /// Of those, blackholes.
        public var blackholes = 0
        /// Connections open and forwarding now (not blackholed).
        public var forwarding = 0
        /// The fewest bytes forwarded in either direction by the busiest forwarding connection
        /// (so `> 0` means traffic flows both ways on a live connection).
        public var liveTraffic = 0
        /// Bytes forwarded in total.
        public var bytesForwarded = 0
    }

    private struct Shared {
        var pending: [Fault] = []
        var stopping = false
        var statistics = Statistics()
    }

    /// The port the proxy listens on (127.0.0.1).
    public let port: Int
    /// Where connections are forwarded (127.0.0.1).
    public let upstreamPort: Int

    private let shared = Mutex(Shared())
    private let listenFD: Int32
    private let thread = Mutex<pthread_t?>(nil)

    /// Binds 127.0.0.1:0 and starts the proxy thread.
    /// - Throws: ``ChaosProxyError`` when the socket cannot be bound.
    public init(upstreamPort: Int) throws(ChaosProxyError) {
        self.upstreamPort = upstreamPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM_VALUE), 0)
        guard fd >= 0 else { throw ChaosProxyError("socket() failed: errno \(errno)") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw ChaosProxyError("bind/listen on 127.0.0.1 failed: errno \(errno)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            close(fd)
            throw ChaosProxyError("getsockname failed: errno \(errno)")
        }
        Self.setNonBlocking(fd)
        self.listenFD = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))

        // The thread holds a strong reference until its loop returns (see `stop()`).
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let created = pthread_create(&handle, nil, chaosProxyThreadMain, context)
        guard created == 0 else {
            Unmanaged<ChaosProxy>.fromOpaque(context).release()
            close(fd)
            throw ChaosProxyError("pthread_create failed: \(created)")
        }
        thread.withLock { $0 = handle }
    }

    /// Runs `body` with a proxy in front of `127.0.0.1:upstreamPort`, stopping it afterwards.
    public static func with<Result>(
        upstreamPort: Int, _ body: (ChaosProxy) async throws -> Result
    ) async throws -> Result {
        let proxy = try ChaosProxy(upstreamPort: upstreamPort)
        defer { proxy.stop() }
        return try await body(proxy)
    }

    /// Queues a fault; the proxy thread applies it within about 10 ms.
    public func inject(_ fault: Fault) {
        shared.withLock { $0.pending.append(fault) }
    }

    /// The current counters.
    public var statistics: Statistics { shared.withLock { $0.statistics } }

    /// Resets every connection, closes the listener and joins the thread. Idempotent.
    public func stop() {
        shared.withLock { $0.stopping = true }
        let handle = thread.withLock { handle -> pthread_t? in
            defer { handle = nil }
            return handle
        }
        if let handle { pthread_join(handle, nil) }
    }

    // MARK: The proxy thread

    private struct Pair {
        var client: Int32
        var upstream: Int32
        /// Bytes read from the client, not yet written upstream.
        var toUpstream: [UInt8] = []
        /// Bytes read upstream, not yet written to the client.
        var toClient: [UInt8] = []
        var cutAt: ContinuousClock.Instant?
        var bytesUp = 0
        var bytesDown = 0
        var isBlackholed: Bool { cutAt != nil }
    }

    private static let bufferCap = 1 << 20

    fileprivate func runLoop() {
        var pairs: [Pair] = []
        var statistics = Statistics()
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        var closedBytes = 0
        while true {
            let (faults, stopping) = shared.withLock { shared -> ([Fault], Bool) in
                defer { shared.pending.removeAll() }
                return (shared.pending, shared.stopping)
            }
            if stopping {
                for pair in pairs { Self.reset(pair) }
                close(listenFD)
                return
            }
            let now = ContinuousClock.now
            for fault in faults {
                let live = pairs.indices.filter { !pairs[$0].isBlackholed }
                guard !live.isEmpty else { continue }
                statistics.cuts += 1
                switch fault {
                case .reset:
                    statistics.resets += 1
                    for index in live.reversed() {
                        let pair = pairs.remove(at: index)
                        closedBytes += pair.bytesUp + pair.bytesDown
                        Self.reset(pair)
                    }
                case .blackhole(let after):
                    statistics.blackholes += 1
                    for index in live { pairs[index].cutAt = now + after }
                }
            }
            pairs.removeAll { pair in
                guard let cutAt = pair.cutAt, cutAt <= now else { return false }
                closedBytes += pair.bytesUp + pair.bytesDown
                Self.reset(pair)
                return true
            }

            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
            var polled: [Int] = []
            for (index, pair) in pairs.enumerated() where !pair.isBlackholed {
                var clientEvents: Int32 = 0
                var upstreamEvents: Int32 = 0
                if pair.toUpstream.count < Self.bufferCap { clientEvents |= Int32(POLLIN) }
                if pair.toClient.count < Self.bufferCap { upstreamEvents |= Int32(POLLIN) }
                if !pair.toClient.isEmpty { clientEvents |= Int32(POLLOUT) }
                if !pair.toUpstream.isEmpty { upstreamEvents |= Int32(POLLOUT) }
                fds.append(pollfd(fd: pair.client, events: Int16(clientEvents), revents: 0))
                fds.append(pollfd(fd: pair.upstream, events: Int16(upstreamEvents), revents: 0))
                polled.append(index)
            }
            _ = poll(&fds, nfds_t(fds.count), 10)

            var finished: Set<Int> = []
            for (slot, index) in polled.enumerated() {
                let clientEvents = Int32(fds[1 + 2 * slot].revents)
                let upstreamEvents = Int32(fds[2 + 2 * slot].revents)
                var pair = pairs[index]
                var ok = true
                if clientEvents & Int32(POLLIN | POLLHUP | POLLERR) != 0 {
                    ok = Self.pump(from: pair.client, into: &pair.toUpstream, count: &pair.bytesUp, scratch: &scratch)
                }
                if ok, upstreamEvents & Int32(POLLIN | POLLHUP | POLLERR) != 0 {
                    ok = Self.pump(from: pair.upstream, into: &pair.toClient, count: &pair.bytesDown, scratch: &scratch)
                }
                if ok { ok = Self.flush(&pair.toUpstream, to: pair.upstream) }
                if ok { ok = Self.flush(&pair.toClient, to: pair.client) }
                pairs[index] = pair
                if !ok { finished.insert(index) }
            }
            for index in finished.sorted(by: >) {
                // One side closed or failed: close both (a clean FIN; faults use RST).
                let pair = pairs.remove(at: index)
                closedBytes += pair.bytesUp + pair.bytesDown
                close(pair.client)
                close(pair.upstream)
            }

            if fds[0].revents & Int16(POLLIN) != 0 {
                while true {
                    let client = accept(listenFD, nil, nil)
                    if client < 0 { break }
                    guard let upstream = Self.connectUpstream(port: upstreamPort) else {
                        Self.reset(Pair(client: client, upstream: -1))
                        continue
                    }
                    Self.setNonBlocking(client)
                    Self.setNoDelay(client)
                    pairs.append(Pair(client: client, upstream: upstream))
                    statistics.accepted += 1
                }
            }

            var forwarded = 0
            var live = 0
            var total = 0
            for pair in pairs {
                total += pair.bytesUp + pair.bytesDown
                guard !pair.isBlackholed else { continue }
                forwarded += 1
                live = max(live, min(pair.bytesUp, pair.bytesDown))
            }
            statistics.forwarding = forwarded
            statistics.liveTraffic = live
            statistics.bytesForwarded = closedBytes + total
            let snapshot = statistics
            shared.withLock { $0.statistics = snapshot }
        }
    }

    /// Reads what is available; false when the peer closed or the socket failed.
    private static func pump(from fd: Int32, into buffer: inout [UInt8], count: inout Int, scratch: inout [UInt8]) -> Bool {
        let room = min(scratch.count, bufferCap - buffer.count)
        guard room > 0 else { return true }
        let n = scratch.withUnsafeMutableBytes { read(fd, $0.baseAddress, room) }
        if n > 0 {
            buffer.append(contentsOf: scratch[0..<n])
            count += n
            return true
        }
        if n == 0 { return false }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
    }

    /// Writes what the socket takes; false when it failed.
    private static func flush(_ buffer: inout [UInt8], to fd: Int32) -> Bool {
        guard !buffer.isEmpty else { return true }
        let n = buffer.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL_VALUE)) }
        if n > 0 {
            buffer.removeFirst(n)
            return true
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    }

    /// Closes both legs with `SO_LINGER 0`: the peers get a RST.
    private static func reset(_ pair: Pair) {
        for fd in [pair.client, pair.upstream] where fd >= 0 {
            var linger = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
            close(fd)
        }
    }

    private static func connectUpstream(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM_VALUE), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        setNonBlocking(fd)
        setNoDelay(fd)
        return fd
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    private static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    private static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// The proxy could not start.
public struct ChaosProxyError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public var description: String
    init(_ description: String) { self.description = description }
}

#if canImport(Glibc)
private let SOCK_STREAM_VALUE = SOCK_STREAM.rawValue
private let MSG_NOSIGNAL_VALUE = MSG_NOSIGNAL
private func chaosProxyThreadMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context else { return nil }
    let proxy = Unmanaged<ChaosProxy>.fromOpaque(context).takeRetainedValue()
    proxy.runLoop()
    return nil
}
#else
private let SOCK_STREAM_VALUE = SOCK_STREAM
private let MSG_NOSIGNAL_VALUE: Int32 = 0
private func chaosProxyThreadMain(_ context: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
    let proxy = Unmanaged<ChaosProxy>.fromOpaque(context).takeRetainedValue()
    proxy.runLoop()
    return nil
}
#endif

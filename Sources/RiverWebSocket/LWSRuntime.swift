import CLibWebSockets
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import River
import Synchronization

/// The process-wide libwebsockets context and the one thread that services it.
///
/// libwebsockets is built with `LWS_MAX_SMP 1`: one service thread per context, and two
/// contexts that both initialise OpenSSL leak memory. So the whole process shares one context,
/// created lazily on first use and never destroyed (a process-wide singleton on purpose).
///
/// Threading rule: every lws call except `lws_cancel_service` happens on the service thread.
/// Other threads append a ``Command`` to a lock-protected queue and wake the thread: through
/// the epoll wait's eventfd, or with `lws_cancel_service` while it waits in lws' poll; the
/// thread drains the queue after every pass (and in `LWS_CALLBACK_EVENT_WAIT_CANCELLED`). A
/// flag coalesces wake-ups, so a burst of sends costs one syscall.
///
/// The service thread sleeps in an epoll wait over the sockets while nothing but their input
/// can need it, and hands lws only the sockets epoll reports (`lws_service_fd`): lws 4.1's
/// poll(2) over every socket costs per socket on each wake-up, and sleeping in it costs more
/// (registering on every socket's wait queue and leaving them). Commands are run without a pass
/// of lws' (a write goes out at once where it may: ``WebSocketConnection/serviceThreadWriteRequested(_:)``);
/// lws' timers coming due (``LWSPassSchedule``) or a readiness lws did not act on get a pass of
/// lws' own without waiting; whenever a pass asked lws for something only its
/// own wait sees (a writable callback, a timeout, a socket opening, closing or paused, lws
/// holding unsent or unread bytes, a TLS socket of lws'), the next pass waits in lws' poll as
/// before. If epoll cannot be set up or a socket cannot join it, lws' poll is used throughout.
// @unchecked Sendable: `context` and `protocols` are immutable after init; `pending` is a
// Mutex; every other stored property is only touched on the service thread (see the
// `serviceThread...` names and the rule above).
final class LWSRuntime: @unchecked Sendable {
    /// Work handed to the service thread.
    enum Command {
        case connect(WebSocketConnection, LWSClientRequest)
        case wantWrite(WebSocketConnection)
        /// Hand events that arrived before a consumer was chosen to it.
        case deliverPending(WebSocketConnection)
        case abort(WebSocketConnection)
        /// Apply the connection's latest receive pause or resume.
        case applyReceivingPaused(WebSocketConnection)
        case listen(LWSListenerState)
        case closeListener(LWSListenerState, dropConnections: Bool)
    }

    /// The epoll instance the service thread sleeps in, and the eventfd that wakes it (-1
    /// when they could not be made: then it always waits in lws' poll).
    private let epollFD: Int32
    private let wakeFD: Int32

    private struct Pending {
        var commands: [Command] = []
        var wakeRequested = false
        /// The service thread waits (or is about to wait) in lws' poll, which only
        /// `lws_cancel_service` interrupts; otherwise it waits in epoll (the eventfd) or runs.
        var waitsInLWS = false
    }

    /// The shared runtime, created on first use.
    static let shared = LWSRuntime()

    /// The name of River's only lws protocol (never sent as `Sec-WebSocket-Protocol`).
    private let protocolName: UnsafeMutablePointer<CChar>
    /// lws' method name for a raw client connection.
    private let rawMethod: UnsafeMutablePointer<CChar>

    let context: OpaquePointer
    private let protocols: UnsafeMutablePointer<lws_protocols>
    private let pending = Mutex(Pending())

    // Service-thread-only state.
    /// Strong references that keep connections alive until `LWS_CALLBACK_WSI_DESTROY`.
    private var serviceThreadLiveConnections: [ObjectIdentifier: WebSocketConnection] = [:]
    /// The vhost client connections are made on (raw connections: no TLS or protocol of lws').
    private var serviceThreadClientVhost: OpaquePointer?
    /// OpenSSL contexts of `wss` connections, one per TLS file configuration.
    private let serviceThreadTLSContexts = TLSClientContexts()
    /// Where `wss` connections decrypt received records (one TLS record at most) and stage
    /// ciphertext to send; shared, as the service thread handles one callback at a time.
    let serviceThreadTLSPlaintext = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 16)
    let serviceThreadTLSCiphertext = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    /// Server vhosts (not listening themselves), one per TLS configuration.
    private var serviceThreadServerVhosts: [WebSocketListener.TLS?: OpaquePointer] = [:]
    /// Listeners by the wsi of their adopted listening socket.
    private var serviceThreadListeners: [OpaquePointer: LWSListenerState] = [:]
    private var serviceThreadVhostCounter = 0
    /// Descriptors an epoll wait found ready, as lws poll entries.
    private let serviceThreadReady = UnsafeMutablePointer<pollfd>.allocate(capacity: readyCapacity)
    private static let readyCapacity = 64
    /// When lws' own pass is due at the latest (its timers).
    private var serviceThreadPassSchedule = LWSPassSchedule()
    /// The epoll wait is usable (every socket lws watches for input is in it).
    private var serviceThreadEpollUsable = false
    /// This pass asked lws for something only its own wait sees: the next pass waits in lws'
    /// poll.
    private var serviceThreadNeedsLWSWait = false
    /// Callbacks in the current pass.
    private var serviceThreadCallbacks = 0
    /// Client connections between their connect and `LWS_CALLBACK_RAW_CONNECTED` (or their
    /// end): lws waits for the connect to finish (POLLOUT) on sockets not in the epoll set.
    private var serviceThreadConnecting = Set<ObjectIdentifier>()
    /// Connections whose reading is paused (their unread input must not wake the epoll wait).
    private var serviceThreadPausedReaders = Set<ObjectIdentifier>()
    /// Connections River asked lws a writable callback for that has not come yet (lws waits
    /// for POLLOUT on them, which the epoll set does not watch), by wsi.
    private var serviceThreadWritableWanted = Set<OpaquePointer>()
    /// Connections lws buffered part of a write for (it waits for POLLOUT itself).
    private var serviceThreadPartialWriters: [ObjectIdentifier: WebSocketConnection] = [:]
    /// Connections (and listeners) whose TLS lws runs: its handshakes wait for output too.
    private var serviceThreadLWSTLSSockets = Set<ObjectIdentifier>()

    private init() {
        LWSLog.install()
        // Note: lws_create_context sets SIGPIPE to SIG_IGN for the process (writes to sockets
        // the peer closed must not kill it); River relies on that.

        protocolName = strdup("river")
        rawMethod = strdup("RAW")
        protocols = .allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        protocols[0].name = UnsafePointer(protocolName)
        protocols[0].callback = riverLWSCallback
        protocols[0].per_session_data_size = 0
        protocols[0].rx_buffer_size = 64 * 1024
        protocols[0].tx_packet_size = 0
        // protocols[1] stays zeroed: the terminator.

        var info = lws_context_creation_info()
        info.options = river_lws_context_options()
        info.port = river_lws_no_listen_port()
        info.gid = -1
        info.uid = -1
        info.fd_limit_per_thread = LWSDescriptorTable.limitPerThread(openFiles: sysconf(Int32(_SC_OPEN_MAX)))
        info.pt_serv_buf_size = 64 * 1024
        info.protocols = UnsafePointer(protocols)
        // The context's user pointer is filled in below through a box; lws copies `user`.
        let box = Unmanaged.passUnretained(LWSRuntimeBox.instance).toOpaque()
        info.user = box
        guard let context = lws_create_context(&info) else {
            // Without a context no WebSocket can ever open; this is a broken installation,
            // not network input.
            preconditionFailure("libwebsockets: lws_create_context failed")
        }
        self.context = context
        let epollFD = river_epoll_create()
        let wakeFD = epollFD >= 0 ? river_eventfd_create() : -1
        if wakeFD >= 0, river_epoll_watch(epollFD, wakeFD) == 0 {
            self.epollFD = epollFD
            self.wakeFD = wakeFD
        } else {
            if wakeFD >= 0 { close(wakeFD) }
            if epollFD >= 0 { close(epollFD) }
            self.epollFD = -1
            self.wakeFD = -1
        }
        serviceThreadEpollUsable = self.epollFD >= 0

        // The client vhost is created before the service thread starts, so it is still
        // single-threaded here.
        serviceThreadClientVhost = createClientVhost()

        LWSRuntimeBox.instance.runtime = self
        do {
            try SystemThread.start(name: "river.lws", stackSize: 1 << 20) { [self] in
                Self.serviceThreadIdentity.store(ThreadIdentity.current, ordering: .releasing)
                WakeupBatch.shared.adoptCurrentThread()
                while true {
                    self.serviceThreadPass()
                    WakeupBatch.shared.flush()
                }
            }
        } catch {
            // Like a failed context: no WebSocket could ever open (the process is out of threads).
            preconditionFailure("libwebsockets: cannot start the service thread: \(error)")
        }
    }

    // MARK: The service loop

    /// One pass: sleep in epoll and serve the sockets it reports one by one when only input
    /// can be due, else lws' own poll over every socket; then run the queued commands.
    private func serviceThreadPass() {
        if serviceThreadMayWaitInEpoll() {
            serviceThreadEpollPass()
        } else {
            serviceThreadLWSPass(waiting: true)
        }
        serviceThreadDrain()
    }

    /// Sleeps in epoll and hands lws the sockets it reports.
    private func serviceThreadEpollPass() {
        var stored: Int32 = 0
        let timeout = serviceThreadPassSchedule.epollTimeoutMilliseconds(at: DispatchTime.now().uptimeNanoseconds)
        let ready = river_epoll_wait(epollFD, wakeFD, timeout, serviceThreadReady, Int32(Self.readyCapacity), &stored)
        serviceThreadNeedsLWSWait = false
        for index in 0..<Int(stored) {
            serviceThreadCallbacks = 0
            LWSServiceStatistics.servedFromEpoll.add(1, ordering: .relaxed)
            _ = lws_service_fd(context, serviceThreadReady + index)
            // Readiness lws did not act on: its own poll next time, so this cannot spin.
            if serviceThreadCallbacks == 0 { serviceThreadNeedsLWSWait = true }
        }
        // The wait's time ran out (or was interrupted), or lws' timers are due: a pass of lws'
        // own that does not wait (lws polls with a zero timeout). Only the eventfd (commands,
        // drained next) needs none.
        if ready == 0 || serviceThreadPassSchedule.isDue(at: DispatchTime.now().uptimeNanoseconds) {
            let needed = serviceThreadNeedsLWSWait
            serviceThreadLWSPass(waiting: false)
            serviceThreadNeedsLWSWait = serviceThreadNeedsLWSWait || needed
        }
    }

    /// `lws_service`: waiting in lws' poll (until lws' next timer, a socket's event or
    /// `lws_cancel_service`) or not. It does not wait when a command is already queued.
    private func serviceThreadLWSPass(waiting: Bool) {
        serviceThreadNeedsLWSWait = false
        serviceThreadCallbacks = 0
        let waits = waiting && pending.withLock { pending in
            if pending.wakeRequested { return false }
            pending.waitsInLWS = true
            return true
        }
        _ = lws_service(context, waits ? 0 : -1)
        if waits { pending.withLock { $0.waitsInLWS = false } }
        serviceThreadPassSchedule.passRan(at: DispatchTime.now().uptimeNanoseconds)
    }

    /// Whether nothing but input on a watched socket (or a command) can need the service
    /// thread before lws' next timer.
    private func serviceThreadMayWaitInEpoll() -> Bool {
        guard serviceThreadEpollUsable, !serviceThreadNeedsLWSWait, serviceThreadWritableWanted.isEmpty,
            serviceThreadConnecting.isEmpty, serviceThreadPausedReaders.isEmpty, serviceThreadLWSTLSSockets.isEmpty
        else { return false }
        if !serviceThreadPartialWriters.isEmpty {
            for (id, connection) in serviceThreadPartialWriters {
                if let wsi = connection.serviceThreadWSI, lws_partial_buffered(wsi) != 0 { return false }
                serviceThreadPartialWriters[id] = nil
            }
        }
        // Buffered input (or TLS records) lws still has to hand out.
        return lws_service_adjust_timeout(context, 1, 0) != 0
    }

    /// Adds a socket lws watches for input to the epoll set (on failure, epoll is given up).
    private func serviceThreadWatch(_ fd: Int32) {
        guard serviceThreadEpollUsable, fd >= 0 else { return }
        if river_epoll_watch(epollFD, fd) != 0 { serviceThreadEpollUsable = false }
    }

    /// Marks the pass as needing lws' own wait next.
    func serviceThreadNeedLWSWait() {
        serviceThreadNeedsLWSWait = true
    }

    /// `lws_callback_on_writable`, noting that the next pass must wait in lws' poll.
    func serviceThreadCallbackOnWritable(_ wsi: OpaquePointer) {
        serviceThreadNeedsLWSWait = true
        // Until the callback comes: lws may first spend several passes sending what it buffered.
        serviceThreadWritableWanted.insert(wsi)
        lws_callback_on_writable(wsi)
    }

    /// lws is about to call back `wsi` as writable, or destroys it: it no longer waits for
    /// POLLOUT on River's behalf.
    fileprivate func serviceThreadWritableCame(_ wsi: OpaquePointer) {
        serviceThreadWritableWanted.remove(wsi)
    }

    /// `lws_set_timeout`, noting that the next pass must wait in lws' poll (which knows when
    /// the timeout is due) and that lws' passes must come often until it is cleared or its
    /// socket is gone.
    func serviceThreadSetTimeout(_ wsi: OpaquePointer, _ reason: pending_timeout, _ seconds: Int32) {
        serviceThreadNeedsLWSWait = true
        serviceThreadPassSchedule.timeout(
            of: wsi, pending: reason != NO_PENDING_TIMEOUT, now: DispatchTime.now().uptimeNanoseconds)
        lws_set_timeout(wsi, reason, seconds)
    }

    /// `LWS_CALLBACK_WSI_DESTROY` of any wsi: a timeout River set on it is gone with it.
    fileprivate func serviceThreadSocketDestroyed(_ wsi: OpaquePointer) {
        serviceThreadWritableWanted.remove(wsi)
        serviceThreadPassSchedule.socketDestroyed(wsi)
    }

    /// A TCP connection of `connection` is up (client) or adopted (server): its socket joins
    /// the epoll set.
    func serviceThreadSocketOpened(_ connection: WebSocketConnection, _ wsi: OpaquePointer) {
        serviceThreadNeedsLWSWait = true
        serviceThreadConnecting.remove(ObjectIdentifier(connection))
        serviceThreadWatch(lws_get_socket_fd(wsi))
    }

    /// A client connect attempt ended without a socket (an error, or the wsi went away).
    func serviceThreadConnectEnded(_ connection: WebSocketConnection) {
        serviceThreadNeedsLWSWait = true
        serviceThreadConnecting.remove(ObjectIdentifier(connection))
    }

    /// Records whether `connection`'s reading is paused.
    func serviceThreadReceivingPaused(_ connection: WebSocketConnection, _ paused: Bool) {
        serviceThreadNeedsLWSWait = true
        if paused {
            serviceThreadPausedReaders.insert(ObjectIdentifier(connection))
        } else {
            serviceThreadPausedReaders.remove(ObjectIdentifier(connection))
        }
    }

    /// lws kept part of a write of `connection` to send when the socket takes it.
    func serviceThreadWritePartlyBuffered(_ connection: WebSocketConnection) {
        serviceThreadNeedsLWSWait = true
        serviceThreadPartialWriters[ObjectIdentifier(connection)] = connection
    }

    // MARK: Handing work to the service thread

    /// The service thread's `pthread_self()`, once it runs (0 before).
    private static let serviceThreadIdentity = Atomic<UInt>(0)

    /// Whether the caller runs on the service thread (inside an lws callback or a handler
    /// called from one), where lws may be called directly.
    static var isServiceThread: Bool {
        serviceThreadIdentity.load(ordering: .acquiring) == ThreadIdentity.current
    }

    /// Queues `command` and wakes the service thread (at most one wake-up in flight).
    func enqueue(_ command: Command) {
        enum Wake { case none, epoll, lws }
        let wake = pending.withLock { pending -> Wake in
            pending.commands.append(command)
            if pending.wakeRequested { return .none }
            pending.wakeRequested = true
            return pending.waitsInLWS ? .lws : .epoll
        }
        switch wake {
        case .none:
            break
        case .lws:
            lws_cancel_service(context)
        case .epoll:
            // Also when the thread is running: the eventfd stays readable, so its next epoll
            // wait returns at once (and a pass of lws' own first checks `wakeRequested`).
            if wakeFD >= 0 { river_eventfd_signal(wakeFD) }
        }
    }

    /// Runs the queued commands. Service thread only: after every pass, and in
    /// `LWS_CALLBACK_EVENT_WAIT_CANCELLED`.
    fileprivate func serviceThreadDrain() {
        let commands = pending.withLock { pending -> [Command] in
            guard pending.wakeRequested else { return [] }
            pending.wakeRequested = false
            let commands = pending.commands
            pending.commands = []
            return commands
        }
        for command in commands {
            // Anything but a write may have asked lws for something its own wait sees (a
            // write asks for that itself when it cannot go out at once).
            if case .wantWrite = command {} else { serviceThreadNeedsLWSWait = true }
            switch command {
            case .connect(let connection, let request):
                serviceThreadConnect(connection, request)
            case .wantWrite(let connection):
                guard let wsi = connection.serviceThreadWSI else { break }
                connection.serviceThreadWriteRequested(wsi)
            case .deliverPending(let connection):
                connection.serviceThreadDeliver(nil)
            case .abort(let connection):
                connection.serviceThreadAbort()
            case .applyReceivingPaused(let connection):
                connection.serviceThreadApplyReceivingPaused()
            case .listen(let listener):
                serviceThreadListen(listener)
            case .closeListener(let listener, let dropConnections):
                serviceThreadCloseListener(listener, dropConnections: dropConnections)
            }
        }
    }

    // MARK: Clients

    private func createClientVhost() -> OpaquePointer? {
        var info = lws_context_creation_info()
        info.port = river_lws_no_listen_port()
        info.protocols = UnsafePointer(protocols)
        info.options = river_lws_vhost_options(0)
        info.gid = -1
        info.uid = -1
        // lws keeps the name pointer (the vhost lives as long as the process).
        info.vhost_name = UnsafePointer(strdup("river-client"))
        return lws_create_vhost(context, &info)
    }

    private func serviceThreadConnect(_ connection: WebSocketConnection, _ request: LWSClientRequest) {
        guard connection.serviceThreadShouldStartConnecting() else { return }
        var tls: TLSClientContexts.Context?
        if request.tls {
            do {
                tls = try serviceThreadTLSContexts.context(for: request.tlsFiles)
            } catch {
                let detail = "OpenSSL rejected the CA, certificate or key file (for example a key that does not match the certificate)"
                connection.serviceThreadConnectFailed(
                    RiverConnectError(.tls, "could not set up TLS for \(request.endpoint): \(detail): \(error.reason)", tlsDetail: detail))
                return
            }
        }
        guard let vhost = serviceThreadClientVhost else {
            connection.serviceThreadConnectFailed(RiverConnectError(.other, "libwebsockets could not create its client vhost"))
            return
        }
        connection.serviceThreadPrepare(request, tls: tls)
        let address = strdup(request.address)
        defer { free(address) }
        var info = lws_client_connect_info()
        info.context = context
        info.vhost = vhost
        info.address = UnsafePointer(address)
        info.port = Int32(request.port)
        // A raw connection: lws dials and carries bytes. TLS (``TLSClientSession``), the upgrade
        // request (``WebSocketClientHandshake``) and the frames (``WebSocketFrameReader``) are
        // River's own, so that received payload is copied in blocks rather than through lws
        // 4.1's per-byte client parser (and lws 4.1.6 cannot run TLS on a raw client itself).
        info.method = UnsafePointer(rawMethod)
        info.local_protocol_name = UnsafePointer(protocolName)
        info.opaque_user_data = Unmanaged.passUnretained(connection).toOpaque()

        serviceThreadLiveConnections[ObjectIdentifier(connection)] = connection
        serviceThreadConnecting.insert(ObjectIdentifier(connection))
        guard let wsi = lws_client_connect_via_info(&info) else {
            // No callback will ever come for this attempt.
            serviceThreadLiveConnections[ObjectIdentifier(connection)] = nil
            serviceThreadConnectEnded(connection)
            // (A failure lws reported through LWS_CALLBACK_CLIENT_CONNECTION_ERROR already
            // settled the attempt; this only covers a start that never got that far.)
            connection.serviceThreadConnectFailed(
                RiverConnectError(.other, "libwebsockets could not start a connection to \(request.endpoint)"))
            return
        }
        connection.serviceThreadAttach(wsi)
    }

    /// Drops the strong reference once lws has destroyed the connection's wsi.
    fileprivate func serviceThreadRelease(_ connection: WebSocketConnection) {
        serviceThreadLiveConnections[ObjectIdentifier(connection)] = nil
        serviceThreadConnecting.remove(ObjectIdentifier(connection))
        serviceThreadPausedReaders.remove(ObjectIdentifier(connection))
        serviceThreadPartialWriters[ObjectIdentifier(connection)] = nil
        serviceThreadLWSTLSSockets.remove(ObjectIdentifier(connection))
        connection.serviceThreadListener?.serviceThreadConnections[ObjectIdentifier(connection)] = nil
    }

    // MARK: Listeners
    //
    // lws 4.1's own listen sockets cannot be closed again (`lws_vhost_destroy` never marks
    // the vhost as being destroyed, so its listen socket and connections stay open). So a
    // listener owns a plain POSIX listening socket, adopted into lws as a raw descriptor
    // (readability is reported with LWS_CALLBACK_RAW_RX_FILE and closing the wsi closes the
    // socket); accepted sockets are adopted into a non-listening server vhost
    // (CONTEXT_PORT_NO_LISTEN_SERVER), one per TLS configuration, cached for the process.

    private func serverVhost(_ tls: WebSocketListener.TLS?) -> OpaquePointer? {
        if let vhost = serviceThreadServerVhosts[tls] { return vhost }
        serviceThreadVhostCounter += 1
        // lws keeps the name pointer (the vhost is cached for the life of the process) and
        // copies the file paths, which are freed below.
        let name = strdup("river-server-\(serviceThreadVhostCounter)")
        let certificate = tls.map { strdup($0.certificateChainPath) } ?? nil
        let key = tls.map { strdup($0.privateKeyPath) } ?? nil
        let clientCA = tls?.clientCAFilePath.map { strdup($0) } ?? nil
        defer {
            free(certificate)
            free(key)
            free(clientCA)
        }
        var info = lws_context_creation_info()
        info.port = river_lws_no_listen_server_port()
        info.protocols = UnsafePointer(protocols)
        info.options = river_lws_vhost_options(tls == nil ? 0 : 1)
        info.gid = -1
        info.uid = -1
        info.vhost_name = UnsafePointer(name)
        info.ssl_cert_filepath = certificate.map { UnsafePointer($0) }
        info.ssl_private_key_filepath = key.map { UnsafePointer($0) }
        if let clientCA {
            info.ssl_ca_filepath = UnsafePointer(clientCA)
            info.options |= river_lws_require_client_certificate_option()
        }
        guard let vhost = lws_create_vhost(context, &info) else { return nil }
        serviceThreadServerVhosts[tls] = vhost
        return vhost
    }

    private func serviceThreadListen(_ listener: LWSListenerState) {
        let endpoint = "\(listener.host):\(listener.requestedPort)"
        guard let vhost = serverVhost(listener.configuration.tls) else {
            let detail = "OpenSSL rejected the certificate or key file (for example a key that does not match the certificate)"
            listener.serviceThreadBindFinished(.failure(WebSocketListener.BindError(message: "could not set up TLS for \(endpoint): \(detail)")))
            return
        }
        let socket: (fd: Int32, port: Int)
        do {
            socket = try LWSListenSocket.open(host: listener.host, port: listener.requestedPort)
        } catch {
            listener.serviceThreadBindFinished(.failure(error))
            return
        }
        guard let wsi = river_lws_adopt_listen_fd(vhost, socket.fd, protocolName) else {
            // lws closed the descriptor.
            listener.serviceThreadBindFinished(.failure(WebSocketListener.BindError(message: "libwebsockets could not adopt the socket for \(endpoint)")))
            return
        }
        listener.serviceThreadVhost = vhost
        listener.serviceThreadListenWSI = wsi
        serviceThreadListeners[wsi] = listener
        serviceThreadNeedsLWSWait = true
        if listener.configuration.tls != nil { serviceThreadLWSTLSSockets.insert(ObjectIdentifier(listener)) }
        serviceThreadWatch(socket.fd)
        listener.serviceThreadBindFinished(.success(socket.port))
    }

    /// `LWS_CALLBACK_RAW_RX_FILE` on a listening socket: accept what is pending.
    fileprivate func serviceThreadAcceptReady(_ wsi: OpaquePointer) -> Int32 {
        guard let listener = serviceThreadListeners[wsi], let vhost = listener.serviceThreadVhost else { return -1 }
        let fd = lws_get_socket_fd(wsi)
        for _ in 0..<64 {
            let accepted = river_accept_nonblocking(fd)
            if accepted < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED { return 0 }
                listener.configuration.logger.debug("accept failed", metadata: ["websocket.errno": "\(errno)"])
                return 0
            }
            let connection = WebSocketConnection(
                role: .server,
                maximumMessageSize: listener.configuration.maximumMessageSize,
                logger: listener.configuration.logger,
                upgradeHeaders: []
            )
            connection.serviceThreadListener = listener
            // Registered before adoption: lws may call back from inside lws_adopt_socket_vhost.
            serviceThreadLiveConnections[ObjectIdentifier(connection)] = connection
            listener.serviceThreadConnections[ObjectIdentifier(connection)] = connection
            let tls: Int32 = listener.configuration.tls == nil ? 0 : 1
            guard let connectionWSI = river_lws_adopt_raw_socket(vhost, accepted, tls, protocolName) else {
                // lws closed the socket and will not call back.
                serviceThreadLiveConnections[ObjectIdentifier(connection)] = nil
                listener.serviceThreadConnections[ObjectIdentifier(connection)] = nil
                continue
            }
            lws_set_opaque_user_data(connectionWSI, Unmanaged.passUnretained(connection).toOpaque())
            connection.serviceThreadAttach(connectionWSI)
            if tls != 0 { serviceThreadLWSTLSSockets.insert(ObjectIdentifier(connection)) }
            serviceThreadSocketOpened(connection, connectionWSI)
            // The upgrade request must arrive in time (cleared when it is answered).
            serviceThreadSetTimeout(connectionWSI, PENDING_TIMEOUT_USER_OK, Self.upgradeRequestTimeoutSeconds)
        }
        return 0
    }

    /// How long an accepted connection may take to send its upgrade request.
    private static let upgradeRequestTimeoutSeconds: Int32 = 10

    private func serviceThreadCloseListener(_ listener: LWSListenerState, dropConnections: Bool) {
        if dropConnections {
            for connection in listener.serviceThreadConnections.values {
                connection.abort()
            }
        }
        if let wsi = listener.serviceThreadListenWSI {
            serviceThreadSetTimeout(wsi, PENDING_TIMEOUT_USER_OK, river_lws_kill_async())
        } else {
            listener.serviceThreadClosed()
        }
    }

    /// `LWS_CALLBACK_WSI_DESTROY` of a wsi that is not a connection: maybe a listening socket,
    /// which lws has closed by now.
    fileprivate func serviceThreadOtherDestroyed(_ wsi: OpaquePointer) {
        guard let listener = serviceThreadListeners.removeValue(forKey: wsi) else { return }
        serviceThreadLWSTLSSockets.remove(ObjectIdentifier(listener))
        listener.serviceThreadListenWSI = nil
        listener.serviceThreadClosed()
    }
}

extension LWSRuntime {
    /// Counts a callback of the current pass; any but input, output and the command wake-up
    /// (a socket opening or closing, lws' own housekeeping) sends the next pass to lws' wait.
    fileprivate func serviceThreadCountCallback(_ reason: lws_callback_reasons) {
        serviceThreadCallbacks += 1
        switch reason {
        case LWS_CALLBACK_RAW_RX, LWS_CALLBACK_RAW_WRITEABLE, LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            break
        default:
            serviceThreadNeedLWSWait()
        }
    }
}

/// Counts of how the service thread served the process's connections (for tests and
/// diagnostics: they show that the cheap paths are taken).
package enum LWSServiceStatistics {
    static let servedFromEpoll = Atomic<Int>(0)
    static let receiveWrites = Atomic<Int>(0)

    /// Sockets handed to lws from the epoll wait (`lws_service_fd`).
    package static var socketsServedFromEpoll: Int { servedFromEpoll.load(ordering: .relaxed) }
    /// Writes made at the end of a receive callback (a reply to the connection's own input).
    package static var writesAfterReceive: Int { receiveWrites.load(ordering: .relaxed) }
}

/// How lws' table of sockets is sized.
package enum LWSDescriptorTable {
    /// The `fd_limit_per_thread` lws gets in a process allowed `openFiles` descriptors.
    ///
    /// 0 lets lws size its tables by that limit and find a socket's connection by its
    /// descriptor number. Any smaller figure makes lws search its table from the start for
    /// every socket it serves: about 1.5 % of an idle client's CPU with 500 connections when it
    /// was 4096 (which also capped the process at 4096 connections). lws zeroes 16 bytes per
    /// allowed descriptor, so a limit beyond ``largestIndexed`` (containers often allow
    /// 2^20) is replaced by that figure: 1 MiB of tables, as many connections, found by search.
    /// The limit is read once, when the runtime starts: descriptors beyond a limit raised later
    /// cannot carry WebSockets.
    package static func limitPerThread(openFiles: Int) -> UInt32 {
        openFiles > 0 && openFiles <= largestIndexed ? 0 : UInt32(largestIndexed)
    }

    /// The largest descriptor limit lws is left to size its tables by.
    package static let largestIndexed = 1 << 16
}

/// Lets the C context hold a stable pointer before the runtime finished initialising.
// @unchecked Sendable: `runtime` is written once, before the service thread starts, and only
// read afterwards (on the service thread).
final class LWSRuntimeBox: @unchecked Sendable {
    static let instance = LWSRuntimeBox()
    var runtime: LWSRuntime?
}

/// The single protocol callback of the process. Runs on the service thread only.
private func riverLWSCallback(
    _ wsi: OpaquePointer?,
    _ reason: lws_callback_reasons,
    _ user: UnsafeMutableRawPointer?,
    _ input: UnsafeMutableRawPointer?,
    _ length: Int
) -> Int32 {
    guard let wsi else { return 0 }
    func connection() -> WebSocketConnection? {
        guard let opaque = lws_get_opaque_user_data(wsi) else { return nil }
        return Unmanaged<WebSocketConnection>.fromOpaque(opaque).takeUnretainedValue()
    }
    func runtime() -> LWSRuntime? {
        guard let context = lws_get_context(wsi), let box = lws_context_user(context) else { return nil }
        return Unmanaged<LWSRuntimeBox>.fromOpaque(box).takeUnretainedValue().runtime
    }

    let runtimeNow = LWSRuntimeBox.instance.runtime
    runtimeNow?.serviceThreadCountCallback(reason)
    switch reason {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        runtime()?.serviceThreadDrain()
        return 0

    case LWS_CALLBACK_RAW_CONNECTED:
        guard let connection = connection() else { return -1 }
        runtimeNow?.serviceThreadSocketOpened(connection, wsi)
        return connection.serviceThreadConnected(wsi)

    case LWS_CALLBACK_RAW_RX:
        guard let connection = connection() else { return -1 }
        return connection.serviceThreadRawReceive(wsi, UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))

    case LWS_CALLBACK_RAW_RX_FILE:
        return runtime()?.serviceThreadAcceptReady(wsi) ?? -1

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        guard let connection = connection() else { return 0 }
        let message = input.map {
            String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self)
        }
        let socketError = river_socket_error(lws_get_socket_fd(wsi))
        runtimeNow?.serviceThreadConnectEnded(connection)
        connection.serviceThreadConnectionError(message, systemError: socketError == 0 ? nil : socketError)
        return 0

    case LWS_CALLBACK_RAW_WRITEABLE:
        runtimeNow?.serviceThreadWritableCame(wsi)
        guard let connection = connection() else { return 0 }
        return connection.serviceThreadWritable(wsi)

    case LWS_CALLBACK_RAW_CLOSE:
        connection()?.serviceThreadClosed()
        return 0

    case LWS_CALLBACK_WSI_DESTROY:
        runtimeNow?.serviceThreadSocketDestroyed(wsi)
        guard let connection = connection() else {
            runtime()?.serviceThreadOtherDestroyed(wsi)
            return 0
        }
        lws_set_opaque_user_data(wsi, nil)
        connection.serviceThreadDestroyed()
        runtime()?.serviceThreadRelease(connection)
        return 0

    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        // A TLS server vhost was just set up (`user` is its SSL_CTX): keep its connections
        // on it.
        river_lws_disable_sni_vhost_switch(user)
        return 0

    case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
        // A listener asking for client certificates: keep OpenSSL's verdict (`length` is
        // preverify_ok). Returning 0 here would accept any certificate.
        return length != 0 ? 0 : 1

    default:
        return lws_callback_http_dummy(wsi, reason, user, input, length)
    }
}

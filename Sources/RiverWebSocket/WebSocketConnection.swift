import CLibWebSockets
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
public import River
import Synchronization

/// One WebSocket connection over libwebsockets, client or server side.
///
/// You get one from ``WebSocketConnector/connect(timeout:)`` (client side, returned as
/// `any RiverConnection`) or from ``WebSocketListener/connections`` (server side). Cast to this
/// type to read the HTTP upgrade request headers on the server side.
///
/// Outbound messages are sent as binary frames, in order; messages larger than 256 KiB go out
/// as several frames of one message. Inbound fragments are reassembled; a message larger than the
/// configured maximum closes the connection with code 1009 (message too big), reported in the
/// final ``RiverConnectionEvent/closed(_:)`` event.
///
/// Every connection is a raw libwebsockets connection: lws carries the bytes, and this class
/// speaks RFC 6455 itself: the opening handshake (``WebSocketClientHandshake``,
/// ``WebSocketServerHandshake``), the peer's frames (``WebSocketFrameReader``; a peer breaking
/// the protocol gets a 1002 close), pings and close frames. A `wss` client runs TLS itself
/// (``TLSClientSession``); a `wss` listener's sockets get TLS from lws. How a client connection
/// opens (connect, TLS, the upgrade) is in `WebSocketConnection+Connecting.swift`; this file
/// holds the rest: the public API, the peer's bytes, the writes and the end.
// @unchecked Sendable: the mutable state shared between threads (`shared`) is a Mutex. Every
// property named `serviceThread...` and the receive/transmit buffers are only touched on the
// libwebsockets service thread (from the protocol callback or a drained command), which is a
// single thread. The rest is immutable.
public final class WebSocketConnection: RiverFastPathConnection, @unchecked Sendable {
    enum Role { case client, server }

    /// Who takes inbound events.
    enum Consumer {
        /// Nobody yet: events wait in `undelivered`.
        case undecided
        /// ``events`` was taken.
        case stream
        /// ``deliverEvents(to:)`` or ``deliverOwnedEvents(to:)`` was called.
        case handler(@Sendable (consuming RiverConnectionEvent) -> Void)
        /// The handler got `.closed` and was released.
        case finished
    }

    /// Where one delivery goes (resolved under the lock, carried out outside it).
    private enum Sink {
        case stream
        case handler(@Sendable (consuming RiverConnectionEvent) -> Void)
    }

    struct Shared {
        /// Where the connection is in its life (connecting, open, closing, aborted, finished).
        var state: WebSocketConnectionState<CheckedContinuation<Void, any Error>>
        var consumer = Consumer.undecided
        /// Events produced before a consumer was chosen (or before the service thread flushed
        /// them to it), oldest first.
        var undelivered: [RiverConnectionEvent] = []
        var outbound: [RiverMessageBytes] = []
        var outboundHead = 0
        /// A `wantWrite` command is queued or a writable callback is requested.
        var writeArmed = false
        /// Reading is paused (``setReceivingPaused(_:)``); the service thread applies it.
        var receivingPaused = false
        var requestHeaders: [(name: String, value: String)] = []
    }

    /// Inbound messages, in order, ending with exactly one ``RiverConnectionEvent/closed(_:)``.
    /// Taken after ``deliverEvents(to:)``, it yields nothing and ends when the connection closes.
    public var events: AsyncStream<RiverConnectionEvent> {
        let flush = shared.withLock { shared -> Bool in
            guard case .undecided = shared.consumer else { return false }
            shared.consumer = .stream
            return !shared.undelivered.isEmpty
        }
        if flush { LWSRuntime.shared.enqueue(.deliverPending(self)) }
        return stream
    }

    /// Hands inbound events to `handler` on the libwebsockets service thread (see
    /// ``RiverFastPathConnection/deliverEvents(to:)``).
    /// - Returns: `false` when ``events`` was already taken.
    public func deliverEvents(to handler: @escaping @Sendable (RiverConnectionEvent) -> Void) -> Bool {
        deliverOwnedEvents { event in handler(event) }
    }

    /// Hands inbound events over to `handler` on the libwebsockets service thread, which keeps
    /// no reference to them (see ``RiverFastPathConnection/deliverOwnedEvents(to:)``).
    /// - Returns: `false` when ``events`` was already taken.
    public func deliverOwnedEvents(to handler: @escaping @Sendable (consuming RiverConnectionEvent) -> Void) -> Bool {
        let flush = shared.withLock { shared -> Bool? in
            guard case .undecided = shared.consumer else { return nil }
            shared.consumer = .handler(handler)
            return !shared.undelivered.isEmpty
        }
        guard let flush else { return false }
        if flush { LWSRuntime.shared.enqueue(.deliverPending(self)) }
        return true
    }

    /// The HTTP upgrade request headers as the server received them (server side only; empty on
    /// the client side). Names are lowercase without the colon, for example `("authorization",
    /// "Bearer x")`, in the order received, after `(":path", path and query)`.
    public var requestHeaders: [(name: String, value: String)] {
        shared.withLock { $0.requestHeaders }
    }

    let role: Role
    private let stream: AsyncStream<RiverConnectionEvent>
    private let continuation: AsyncStream<RiverConnectionEvent>.Continuation
    let shared: Mutex<Shared>
    private let maximumMessageSize: Int
    let upgradeHeaders: [(name: String, value: String)]
    let logger: Logger
    /// Writes of what another thread queued on this connection that went out as soon as the
    /// service thread took the request, without a writable callback (for tests and diagnostics).
    package var writesOnRequest: Int { requestWrites.load(ordering: .relaxed) }
    private let requestWrites = Atomic<Int>(0)

    // Service-thread-only state.
    /// The connection's wsi, from the connect (or accept) until `LWS_CALLBACK_WSI_DESTROY`.
    var serviceThreadWSI: OpaquePointer?
    /// The listener that accepted this connection (server side).
    var serviceThreadListener: LWSListenerState?
    private var serviceThreadClosure: RiverConnectionClosure?
    var serviceThreadConnectError: RiverConnectError?
    var serviceThreadEndpoint = ""
    var serviceThreadUsesTLS = false
    /// The upgrade request was written (client side): TCP and TLS were up.
    var serviceThreadRequestSent = false
    /// A close frame this side decided on while receiving (a message over the size limit, a
    /// server breaking the protocol, or the answer to the peer's close: `nil` code for an empty
    /// close frame), sent from the next writable callback; then the socket is dropped.
    private var serviceThreadPendingClose: (code: UInt16?, reason: String)?
    /// Client side, `wss`: the TLS context, server name and whether any certificate is
    /// accepted, until TCP is up; then the TLS session.
    var serviceThreadTLSSetup: (context: TLSClientContexts.Context, serverName: String, insecure: Bool)?
    var serviceThreadTLS: TLSClientSession?
    /// The opening handshake until it completed: a client's until the server accepted its
    /// request, a server's until the client's request arrived.
    var serviceThreadHandshake: WebSocketClientHandshake?
    private var serviceThreadServerHandshake: WebSocketServerHandshake?
    /// The client's upgrade request, or the server's answer to one, still to be written.
    var serviceThreadHandshakeBytes: [UInt8]?
    /// Server side: the answer refuses the upgrade; the socket closes once it is written.
    private var serviceThreadRefusedUpgrade = false
    /// The peer's frames after the handshake.
    private var serviceThreadFrames: WebSocketFrameReader
    /// The payload of the latest ping not answered yet, sent as a pong before the
    /// next data (RFC 6455 §5.5.3 lets an endpoint answer only the most recent ping, so a
    /// server that pings without reading costs one payload, not a queue).
    private var serviceThreadPong: [UInt8]?
    /// The peer sent its close frame (this side's answer drops the socket).
    private var serviceThreadPeerClosed = false
    /// This side's close frame went out; input is only read for the peer's answer.
    private var serviceThreadCloseSent = false
    private var transmitMessage: RiverMessageBytes?
    private var transmitOffset = 0
    /// Inside this connection's receive callback: a write the consumer's handler asks for (a
    /// heartbeat echo, a server's reply) waits for the end of the input and goes out in the
    /// same service pass (``serviceThreadWriteDirectly(_:counting:)``).
    private var serviceThreadReceiving = false
    /// A write was asked for while receiving.
    private var serviceThreadWantsWriteAfterReceive = false
    /// What a write from the receive callback left unsent (the socket took part of it); the
    /// next writable callback hands it to lws before anything else.
    private var serviceThreadUnsent: [UInt8] = []
    private lazy var transmitFrames = WebSocketFrameBuffer(masked: role == .client)
    /// The first fatal TLS alert the server sent after the handshake (client side, `wss`),
    /// written by OpenSSL's message callback on the service thread: the alert plus 0x100, or 0.
    /// A client certificate the server rejects shows up only this way under TLS 1.3.
    let serviceThreadTLSAlert: UnsafeMutablePointer<Int32> = {
        let slot = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        slot.initialize(to: 0)
        return slot
    }()

    /// What a taken slot of the outbound queue holds (so it keeps no bytes alive).
    private static let noMessage = RiverMessageBytes([])

    /// The most payload framed per write; a bigger message's frame goes out in several.
    private static let maximumFrameSize = 256 * 1024

    init(
        role: Role,
        maximumMessageSize: Int,
        logger: Logger,
        upgradeHeaders: [(name: String, value: String)]
    ) {
        self.role = role
        self.maximumMessageSize = maximumMessageSize
        self.logger = logger
        self.upgradeHeaders = upgradeHeaders
        serviceThreadFrames = WebSocketFrameReader(maximumMessageSize: maximumMessageSize, peerMasks: role == .server)
        if role == .server { serviceThreadServerHandshake = WebSocketServerHandshake() }
        shared = Mutex(Shared(state: WebSocketConnectionState(isServer: role == .server)))
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    deinit {
        // The TLS session that wrote here was freed with the wsi, before the last release.
        serviceThreadTLSAlert.deallocate()
    }

    /// The value of the first request header called `name` (case-insensitive), if any.
    /// - Parameter name: A header name without the colon, for example `"Authorization"`.
    /// - Returns: The header value, or `nil` when the request had no such header.
    public func requestHeader(_ name: String) -> String? {
        let lowered = name.lowercased()
        return requestHeaders.first { $0.name == lowered }?.value
    }

    // MARK: RiverConnection

    /// Queues one message to be sent as a binary WebSocket message. Never blocks; after the
    /// connection closed (or a close or abort was requested) the message is discarded.
    /// - Parameter message: The message bytes.
    public func send(_ message: [UInt8]) {
        if enqueue(RiverMessageBytes(message)) { flush() }
    }

    /// Queues one message like ``send(_:)``; the I/O thread is only woken by ``flush()``.
    /// - Parameter message: The message bytes.
    /// - Returns: Whether this call armed the write and ``flush()`` must follow (other queued
    ///   messages go out with it).
    public func enqueue(_ message: [UInt8]) -> Bool {
        enqueue(RiverMessageBytes(message))
    }

    /// Queues one message like ``send(_:)`` without copying it; the I/O thread is only woken by
    /// ``flush()``.
    /// - Parameter message: The message bytes, read until they are framed.
    /// - Returns: Whether this call armed the write and ``flush()`` must follow.
    public func enqueue(_ message: RiverMessageBytes) -> Bool {
        shared.withLock { shared -> Bool in
            guard shared.state.isOpen else { return false }
            shared.outbound.append(message)
            if shared.writeArmed { return false }
            shared.writeArmed = true
            return true
        }
    }

    /// Wakes the I/O thread to write what ``enqueue(_:)`` queued.
    public func flush() {
        requestWritable()
    }

    /// Asks for a writable callback: directly when already on the service thread (a reply
    /// sent from an event handler), else through the runtime's command queue.
    private func requestWritable() {
        if LWSRuntime.isServiceThread, let wsi = serviceThreadWSI {
            // A reply to this connection's own input goes out once the input is read, in the
            // same pass (no second trip through lws' poll).
            if serviceThreadReceiving {
                serviceThreadWantsWriteAfterReceive = true
                return
            }
            LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
        } else {
            LWSRuntime.shared.enqueue(.wantWrite(self))
        }
    }

    /// Flushes queued messages, then sends a close frame with `code` and `reason` (truncated to
    /// 123 bytes) and waits for the peer's answer. Idempotent.
    /// - Parameters:
    ///   - code: The WebSocket close code, for example 1000.
    ///   - reason: A short reason.
    public func close(code: UInt16, reason: String) {
        let wake = shared.withLock { shared -> Bool in
            guard shared.state.requestClose(code: code, reason: reason) else { return false }
            if shared.writeArmed { return false }
            shared.writeArmed = true
            return true
        }
        if wake { LWSRuntime.shared.enqueue(.wantWrite(self)) }
    }

    /// Stops (`true`) or resumes (`false`) reading from this connection's socket only
    /// (libwebsockets' per-connection rx flow control): the peer is slowed down by TCP while
    /// the shared service thread keeps serving every other connection. The last call wins.
    /// - Parameter paused: Whether reading is paused.
    public func setReceivingPaused(_ paused: Bool) {
        shared.withLock { $0.receivingPaused = paused }
        if LWSRuntime.isServiceThread {
            serviceThreadApplyReceivingPaused()
        } else {
            LWSRuntime.shared.enqueue(.applyReceivingPaused(self))
        }
    }

    /// Applies the latest ``setReceivingPaused(_:)`` to the wsi.
    func serviceThreadApplyReceivingPaused() {
        guard let wsi = serviceThreadWSI else { return }
        let paused = shared.withLock { $0.receivingPaused }
        LWSRuntime.shared.serviceThreadReceivingPaused(self, paused)
        _ = river_lws_set_receiving_paused(wsi, paused ? 1 : 0)
    }

    /// Drops the connection at once: no flush and no close frame. Idempotent.
    public func abort() {
        let abort = shared.withLock { shared in
            let abort = shared.state.requestAbort()
            if case .none = abort { return abort }
            shared.outbound = []
            shared.outboundHead = 0
            return abort
        }
        switch abort {
        case .none:
            return
        case .drop:
            LWSRuntime.shared.enqueue(.abort(self))
        case .dropFailingConnect(let connect):
            LWSRuntime.shared.enqueue(.abort(self))
            connect.resume(throwing: CancellationError())
        }
    }

    /// `LWS_CALLBACK_RAW_RX`: the bytes the peer sent (decrypted first for a `wss` client).
    /// - Returns: -1 when the socket must close now.
    func serviceThreadRawReceive(_ wsi: OpaquePointer, _ input: UnsafeRawBufferPointer) -> Int32 {
        if let session = serviceThreadTLS { return serviceThreadReceiveTLS(wsi, session, input) }
        serviceThreadReceiving = true
        let verdict = serviceThreadReceivePlaintext(wsi, input)
        serviceThreadReceiving = false
        guard serviceThreadWantsWriteAfterReceive else { return verdict }
        serviceThreadWantsWriteAfterReceive = false
        if verdict != 0 { return verdict }
        return serviceThreadWriteDirectly(wsi, counting: LWSServiceStatistics.receiveWrites)
    }

    /// The runtime's `wantWrite` command: what another thread queued goes out at once where
    /// ``serviceThreadWriteDirectly(_:counting:)`` may write it, else from a writable callback. Either
    /// way lws need not poll every socket first (twice: for the command, then for the
    /// callback), which with many idle connections cost more than the call itself.
    func serviceThreadWriteRequested(_ wsi: OpaquePointer) {
        guard serviceThreadWriteDirectly(wsi, counting: requestWrites) != 0 else { return }
        // Outside this connection's callbacks: lws drops the socket in its next pass.
        LWSRuntime.shared.serviceThreadSetTimeout(wsi, PENDING_TIMEOUT_USER_OK, river_lws_kill_async())
    }

    /// The peer's opening handshake (a server's answer, a client's request), then its frames
    /// (plaintext).
    /// - Returns: -1 when the socket must close now.
    func serviceThreadReceivePlaintext(_ wsi: OpaquePointer, _ input: UnsafeRawBufferPointer) -> Int32 {
        var bytes = input
        if serviceThreadRefusedUpgrade { return 0 }
        if var handshake = serviceThreadServerHandshake {
            let outcome = handshake.receive(bytes)
            serviceThreadServerHandshake = handshake
            switch outcome {
            case .incomplete:
                return 0
            case .refused(let response, let reason):
                logger.debug("WebSocket upgrade request refused", metadata: ["websocket.reason": "\(reason)"])
                serviceThreadHandshakeBytes = response
                serviceThreadRefusedUpgrade = true
                LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
                return 0
            case .upgrade(let request, let consumed):
                serviceThreadServerHandshake = nil
                // The upgrade deadline (and lws' own after its TLS accept) no longer applies.
                LWSRuntime.shared.serviceThreadSetTimeout(wsi, NO_PENDING_TIMEOUT, 0)
                serviceThreadHandshakeBytes = WebSocketServerHandshake.acceptResponse(for: request)
                LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
                shared.withLock { $0.requestHeaders = [(":path", request.path)] + request.headers }
                guard let listener = serviceThreadListener, serviceThreadEstablished() else { return -1 }
                listener.serviceThreadAccepted(self)
                bytes = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
            }
        }
        if var handshake = serviceThreadHandshake {
            let outcome = handshake.receive(bytes)
            serviceThreadHandshake = handshake
            switch outcome {
            case .incomplete:
                return 0
            case .refused(let refusal):
                if let status = refusal.status, status != 101 {
                    serviceThreadFailConnect(RiverConnectError(
                        .httpUpgrade, "\(serviceThreadEndpoint) answered the WebSocket upgrade with \(refusal.reason)", httpStatus: status))
                } else {
                    serviceThreadFailConnect(RiverConnectError(
                        .httpUpgrade, "\(serviceThreadEndpoint) sent an invalid WebSocket upgrade response: \(refusal.reason)",
                        httpStatus: refusal.status))
                }
                return -1
            case .accepted(let consumed):
                serviceThreadHandshake = nil
                guard serviceThreadEstablished() else { return -1 }
                bytes = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
            }
        }
        if serviceThreadPendingClose != nil { return 0 }
        var peerAnsweredClose = false
        do {
            try serviceThreadFrames.read(bytes) { (event: consuming WebSocketFrameReader.Event) in
                switch consume event {
                case .message(let message, let isText):
                    // After this side's close frame, data is no longer delivered. Handed over:
                    // this thread keeps no reference to a message once it is delivered.
                    if !serviceThreadCloseSent { serviceThreadDeliver(isText ? .textMessage(consume message) : .message(consume message)) }
                case .ping(let payload):
                    if !serviceThreadCloseSent {
                        serviceThreadPong = payload
                        LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
                    }
                case .pong:
                    break
                case .close(let code, let reason):
                    if serviceThreadCloseSent {
                        peerAnsweredClose = true
                    } else {
                        recordClosure(RiverConnectionClosure(code: code ?? 1005, reason: reason, initiatedLocally: false))
                        // Answer with the same code (RFC 6455 §5.5.1), then drop the socket.
                        serviceThreadPendingClose = (code, "")
                        serviceThreadPeerClosed = true
                        LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
                    }
                }
            }
        } catch {
            logger.debug("WebSocket peer broke the protocol; closing", metadata: ["websocket.violation": "\(error.reason)", "websocket.code": "\(error.code)"])
            serviceThreadRefuse(wsi, code: error.code, reason: error.reason, cause: error.isTooLarge ? .frameTooLarge : .protocolViolation)
            return 0
        }
        return peerAnsweredClose ? -1 : 0
    }

    // MARK: Service-thread I/O

    /// Ends the connection for input this side cannot take (a message over the size limit, or a
    /// peer breaking the protocol): the consumer gets `.closed` with `code` and `cause` at once,
    /// the rest of the input is discarded, and the close frame goes out from the next writable
    /// callback (see ``serviceThreadLingerAfterClose(_:)``).
    private func serviceThreadRefuse(_ wsi: OpaquePointer, code: UInt16, reason: String, cause: RiverConnectionClosure.Cause) {
        recordClosure(RiverConnectionClosure(code: code, reason: reason, initiatedLocally: true, cause: cause))
        serviceThreadPendingClose = (code, reason)
        LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
        // The consumer learns now, not once the peer has acknowledged the close.
        finish()
    }

    private enum WriteAction {
        /// The next queued message.
        case write(RiverMessageBytes)
        case close(code: UInt16, reason: String)
        case drop
        case idle
    }

    /// The socket can take more data: frame queued messages into one buffer until the queue is
    /// empty or 256 KiB of payload is in it, and hand that to lws in one write (lws keeps
    /// whatever the socket does not take and sends it first later). While anything is left,
    /// another callback is requested. A close is sent from a callback of its own, after the data.
    ///
    /// The frames are built here rather than by `lws_write` per frame so that a batch leaves in
    /// one `send` (one trip through both network stacks) and a client's mask keys come from a
    /// pool instead of one read of `/dev/urandom` per frame.
    func serviceThreadWritable(_ wsi: OpaquePointer) -> Int32 {
        let frames = transmitFrames
        frames.removeAll()
        if let session = serviceThreadTLS {
            // TLS records waiting (the handshake's, or ones reading produced) go out first;
            // before the handshake completed nothing else can.
            guard serviceThreadFlushCiphertext(wsi) else { return -1 }
            if !session.isEstablished { return 0 }
        }
        if serviceThreadTLSSetup != nil { return 0 }
        if !serviceThreadUnsent.isEmpty {
            // The tail of a write from the receive callback goes before anything else.
            let unsent = serviceThreadUnsent
            serviceThreadUnsent = []
            guard unsent.withUnsafeBytes({ serviceThreadSend(wsi, $0) }) else { return -1 }
            LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
            return 0
        }
        if let handshake = serviceThreadHandshakeBytes {
            serviceThreadHandshakeBytes = nil
            if role == .client { serviceThreadRequestSent = true }
            guard handshake.withUnsafeBytes({ serviceThreadWrite(wsi, $0) }) else { return -1 }
            if serviceThreadRefusedUpgrade {
                // The refusal stays readable: no reset while the client's bytes sit unread.
                serviceThreadLingerAfterClose(wsi)
                return 0
            }
        }
        // Nothing else goes out before the handshake completed (a client waits for the server's
        // answer), and nothing after this side's close frame.
        if serviceThreadHandshake != nil || serviceThreadServerHandshake != nil || serviceThreadCloseSent { return 0 }
        if transmitMessage != nil, serviceThreadPendingClose != nil || serviceThreadPong != nil {
            // A message's frame is partly sent: a close or pong waits until the frame is whole.
            var budget = Self.maximumFrameSize
            while budget > 0, transmitMessage != nil { budget -= appendNextFrame() }
            let written = serviceThreadWrite(wsi, frames.bytes)
            frames.removeAll()
            if !written { return -1 }
            LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
            return 0
        }
        if let (code, reason) = serviceThreadPendingClose {
            if let code {
                frames.appendCloseFrame(code: code, reason: reason)
            } else {
                frames.appendControlFrame(opcode: 0x8, UnsafeRawBufferPointer(start: nil, count: 0))
            }
            let written = serviceThreadWrite(wsi, frames.bytes)
            frames.removeAll()
            // The answer to the server's close ends the connection.
            if serviceThreadPeerClosed || !written { return -1 }
            serviceThreadLingerAfterClose(wsi)
            return 0
        }
        if let payload = serviceThreadPong {
            payload.withUnsafeBytes { frames.appendControlFrame(opcode: 0xA, $0) }
            serviceThreadPong = nil
        }
        let outcome = serviceThreadFrameQueued(budget: Self.maximumFrameSize, closing: { code, reason in
            recordClosure(RiverConnectionClosure(code: code, reason: reason, initiatedLocally: true))
            // This side sends its close frame and waits for the peer's answer (which
            // drops the socket), at most `closeAnswerTimeoutSeconds`.
            frames.appendCloseFrame(code: code, reason: reason)
            serviceThreadCloseSent = true
            LWSRuntime.shared.serviceThreadSetTimeout(wsi, PENDING_TIMEOUT_USER_OK, Self.closeAnswerTimeoutSeconds)
            return true
        })
        if outcome == .drop { return -1 }
        let drained = outcome == .drained
        if frames.count > 0 {
            let written = serviceThreadWrite(wsi, frames.bytes)
            frames.removeAll()
            if !written { return -1 }
        }
        if !drained { LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi) }
        return 0
    }

    /// How a pass of ``serviceThreadFrameQueued(budget:closing:)`` ended.
    private enum FrameOutcome {
        /// The queue ran empty (and the write was disarmed): no further callback is needed.
        case drained
        /// More is queued (or a close waits for the frames before it to go out).
        case more
        /// The connection is to be dropped.
        case drop
    }

    /// Frames queued messages into `transmitFrames` until the queue is empty or `budget` bytes
    /// of payload are in it. A close requested after the queued messages is handed to
    /// `closing` once nothing else is in the buffer; `closing` returns whether it took it.
    private func serviceThreadFrameQueued(budget: Int, closing: (UInt16, String) -> Bool) -> FrameOutcome {
        let frames = transmitFrames
        var budget = budget
        var drained = false
        while budget > 0 {
            if transmitMessage == nil {
                let action = shared.withLock { shared -> WriteAction in
                    let end = shared.state.writeEnd
                    if end == .drop { return .drop }
                    if shared.outboundHead < shared.outbound.count {
                        let message = shared.outbound[shared.outboundHead]
                        shared.outbound[shared.outboundHead] = Self.noMessage
                        shared.outboundHead += 1
                        if shared.outboundHead == shared.outbound.count {
                            shared.outbound.removeAll(keepingCapacity: true)
                            shared.outboundHead = 0
                        } else if shared.outboundHead >= 4096 {
                            shared.outbound.removeFirst(shared.outboundHead)
                            shared.outboundHead = 0
                        }
                        return .write(message)
                    }
                    if case .close(let code, let reason) = end { return .close(code: code, reason: reason) }
                    shared.writeArmed = false
                    return .idle
                }
                switch action {
                case .idle:
                    drained = true
                case .drop:
                    return .drop
                case .close(let code, let reason):
                    if frames.count > 0 { break }
                    drained = closing(code, reason)
                case .write(let message):
                    transmitMessage = message
                    transmitOffset = 0
                }
                if transmitMessage == nil { break }
            }
            budget -= appendNextFrame()
        }
        return drained ? .drained : .more
    }

    /// The largest batch written outside a writable callback; more waits for one.
    private static let directWriteBudget = 64 * 1024

    /// Writes what is queued without waiting for a writable callback: what the consumer's
    /// handlers queued while this connection's input was read (a heartbeat echo, a server's
    /// reply), still inside the receive callback, and what another thread queued
    /// (``serviceThreadWriteRequested(_:)``). Each saves a trip through lws' poll.
    ///
    /// lws 4.1 spins its loop when a raw connection is written to through `lws_write` from its
    /// receive callback and the socket takes only part (a test server echoing a stream that way
    /// used a core at 6k msgs/s), so this writes to the socket itself (`send`, as lws does) and
    /// only when lws holds nothing unsent; a tail the socket does not take is kept and handed
    /// to lws from the next writable callback, before anything else. TLS connections (either
    /// side's), handshakes, pongs and closes keep to the writable callback.
    /// - Parameter writes: Counts the writes made (``LWSServiceStatistics`` after a receive,
    ///   ``writesOnRequest`` on request).
    /// - Returns: -1 when the socket must close now.
    private func serviceThreadWriteDirectly(_ wsi: OpaquePointer, counting writes: borrowing Atomic<Int>) -> Int32 {
        let plainSocket = !serviceThreadUsesTLS && serviceThreadListener?.configuration.tls == nil
        let fd = lws_get_socket_fd(wsi)
        guard plainSocket, fd >= 0, serviceThreadUnsent.isEmpty, lws_partial_buffered(wsi) == 0,
            serviceThreadHandshakeBytes == nil, serviceThreadHandshake == nil, serviceThreadServerHandshake == nil,
            serviceThreadPendingClose == nil, !serviceThreadCloseSent, serviceThreadPong == nil, transmitMessage == nil
        else {
            LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
            return 0
        }
        let frames = transmitFrames
        frames.removeAll()
        // A close is left to the writable callback (requested below, as the queue is not drained).
        let outcome = serviceThreadFrameQueued(budget: Self.directWriteBudget, closing: { _, _ in false })
        if outcome == .drop { return -1 }
        var requestCallback = outcome != .drained
        if frames.count > 0 {
            let bytes = frames.bytes
            writes.add(1, ordering: .relaxed)
            let sent = Self.sendNow(fd, bytes)
            if sent < 0 {
                frames.removeAll()
                recordClosure(RiverConnectionClosure(code: nil, reason: "write failed", initiatedLocally: false, cause: .writeFailed))
                return -1
            }
            if sent < bytes.count {
                serviceThreadUnsent = Array(UnsafeRawBufferPointer(rebasing: bytes[sent...]))
                requestCallback = true
            }
            frames.removeAll()
        }
        if requestCallback { LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi) }
        return 0
    }

    /// Sends `bytes` on the non-blocking socket `fd` without a signal, as lws does.
    /// - Returns: The bytes the socket took (0 when it took none now), or -1 when it failed.
    private static func sendNow(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        while true {
            let sent = CLibWebSockets.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if sent >= 0 { return sent }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            default: return -1
            }
        }
    }

    /// How long a client waits for the server to answer its close frame before dropping the
    /// socket.
    private static let closeAnswerTimeoutSeconds: Int32 = 5

    /// After this side refused the peer's input (a close frame, or a listener's refusal of the
    /// upgrade): stop sending (FIN after it, unless lws still holds part of it) and read and
    /// discard until the peer closes, at most `closeAnswerTimeoutSeconds`. Dropping the socket
    /// at once while the peer's bytes sit unread would send a reset, and the peer could lose
    /// the last message.
    private func serviceThreadLingerAfterClose(_ wsi: OpaquePointer) {
        serviceThreadCloseSent = true
        let fd = lws_get_socket_fd(wsi)
        if fd >= 0, lws_partial_buffered(wsi) == 0 { _ = shutdown(fd, Int32(SHUT_WR)) }
        LWSRuntime.shared.serviceThreadSetTimeout(wsi, PENDING_TIMEOUT_USER_OK, Self.closeAnswerTimeoutSeconds)
    }

    /// Writes `bytes` (whole frames, or the client's upgrade request): encrypted first on a
    /// `wss` connection.
    /// - Returns: `false` when the write failed (the closure records why).
    private func serviceThreadWrite(_ wsi: OpaquePointer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let session = serviceThreadTLS else { return serviceThreadSend(wsi, bytes) }
        do {
            try session.send(bytes)
        } catch {
            serviceThreadTLSFailed(error)
            return false
        }
        return serviceThreadFlushCiphertext(wsi)
    }

    /// Hands `bytes` to lws to send as they are (it keeps what the socket does not take and
    /// sends that first later). LWS_WRITE_HTTP is lws' alias of LWS_WRITE_RAW.
    /// - Returns: `false` when the write failed (the closure records why).
    func serviceThreadSend(_ wsi: OpaquePointer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        let written = lws_write(wsi, UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self)), bytes.count, LWS_WRITE_HTTP)
        if written < 0 {
            recordClosure(RiverConnectionClosure(code: nil, reason: "write failed", initiatedLocally: false, cause: .writeFailed))
            return false
        }
        if lws_partial_buffered(wsi) != 0 { LWSRuntime.shared.serviceThreadWritePartlyBuffered(self) }
        return true
    }

    /// Frames the next part of `transmitMessage` (at most 256 KiB) into `transmitFrames`: a
    /// message is one frame, its header written with the first part (the receiver reserves its
    /// size once); nothing else goes out until its last part did.
    /// - Returns: The payload bytes framed (at least 1, so an empty message counts too).
    private func appendNextFrame() -> Int {
        guard let message = transmitMessage else { return 0 }
        if transmitOffset == 0 { transmitFrames.beginMessageFrame(length: message.count) }
        let count = min(Self.maximumFrameSize, message.count - transmitOffset)
        let final = transmitOffset + count == message.count
        message.withUnsafeBytes { bytes in
            transmitFrames.appendPayload(UnsafeRawBufferPointer(rebasing: bytes[transmitOffset..<transmitOffset + count]))
        }
        transmitOffset += count
        if final {
            transmitMessage = nil
            transmitOffset = 0
        }
        return max(count, 1)
    }

    /// Drops the socket without a close frame (the service thread side of ``abort()``).
    func serviceThreadAbort() {
        guard let wsi = serviceThreadWSI else { return }
        recordClosure(RiverConnectionClosure(code: nil, reason: "aborted", initiatedLocally: true))
        let fd = lws_get_socket_fd(wsi)
        if fd >= 0 { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        LWSRuntime.shared.serviceThreadSetTimeout(wsi, PENDING_TIMEOUT_USER_OK, river_lws_kill_async())
    }

    /// `LWS_CALLBACK_RAW_CLOSE` (client) / `LWS_CALLBACK_CLOSED` (server).
    func serviceThreadClosed() {
        finish()
    }

    /// `LWS_CALLBACK_WSI_DESTROY`: always the last callback.
    func serviceThreadDestroyed() {
        serviceThreadWSI = nil
        serviceThreadConnectFailed(serviceThreadConnectError ?? serviceThreadClosedBeforeOpen)
        finish()
    }

    /// Why a connect failed when the socket went away before the WebSocket opened and nothing
    /// else said why: during the TLS handshake a TLS failure (with the server's alert, if it
    /// sent one), later a close during the upgrade.
    private var serviceThreadClosedBeforeOpen: RiverConnectError {
        if serviceThreadUsesTLS, serviceThreadTLS?.isEstablished != true {
            return LWSConnectFailure(
                endpoint: serviceThreadEndpoint, message: nil, tlsVerifyError: nil,
                tlsAlert: serviceThreadTLSAlertDescription, systemError: nil,
                usesTLS: true, requestSent: serviceThreadRequestSent
            ).error
        }
        return RiverConnectError(.closedDuringHandshake, "\(serviceThreadEndpoint) closed before the WebSocket opened")
    }

    func recordClosure(_ closure: RiverConnectionClosure) {
        if serviceThreadClosure == nil { serviceThreadClosure = closure }
    }

    /// Emits the one `.closed` event (only for connections that were established) and ends
    /// the stream.
    private func finish() {
        let finish = shared.withLock { shared in
            let finish = shared.state.finish()
            if case .none = finish { return finish }
            shared.outbound = []
            shared.outboundHead = 0
            return finish
        }
        switch finish {
        case .none:
            return
        case .deliverClosed:
            transmitMessage = nil
            let closure = serviceThreadClosure
                ?? RiverConnectionClosure(code: nil, reason: "connection dropped", initiatedLocally: false)
            logger.debug("WebSocket closed", metadata: ["websocket.closure": "\(closure)"])
            serviceThreadDeliver(.closed(closure))
        case .endSilently(let connect):
            transmitMessage = nil
            connect?.resume(throwing: serviceThreadConnectError ?? serviceThreadClosedBeforeOpen)
            // It never opened: nobody consumes its events.
            continuation.finish()
        }
    }

    /// Hands `event` (after any earlier undelivered ones) to the consumer; with no consumer
    /// yet, keeps it. Service thread only, so deliveries stay in order; `nil` just flushes.
    func serviceThreadDeliver(_ event: consuming RiverConnectionEvent?) {
        // Moved along rather than copied, so that the consumer holds the only reference.
        var incoming = consume event
        var earlier: [RiverConnectionEvent] = []
        let sink = shared.withLock { shared -> Sink? in
            let sink: Sink
            switch shared.consumer {
            case .undecided:
                if let event = incoming.take() { shared.undelivered.append(event) }
                return nil
            case .finished:
                return nil
            case .stream:
                sink = .stream
            case .handler(let handler):
                sink = .handler(handler)
            }
            swap(&earlier, &shared.undelivered)
            let closes = incoming.map { if case .closed = $0 { true } else { false } } ?? false
            if case .handler = sink, closes || earlier.contains(where: { if case .closed = $0 { true } else { false } }) {
                shared.consumer = .finished
            }
            return sink
        }
        guard let sink else { return }
        for event in earlier { deliver(event, to: sink) }
        earlier = []
        if let event = incoming.take() { deliver(consume event, to: sink) }
    }

    private func deliver(_ event: consuming RiverConnectionEvent, to sink: Sink) {
        let closes = if case .closed = event { true } else { false }
        switch sink {
        case .stream:
            continuation.yield(event)
            if closes { continuation.finish() }
        case .handler(let handler):
            handler(consume event)
            // ``events`` taken after ``deliverEvents(to:)`` ends here, without events.
            if closes { continuation.finish() }
        }
    }
}

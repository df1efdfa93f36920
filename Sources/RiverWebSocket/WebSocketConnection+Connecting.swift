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

/// A client connection's way to open: the connect the transport waits on (with its timeout),
/// the attempt on the service thread (the socket, TLS, the upgrade request and the server's
/// answer), and how a failed attempt is reported. The `wss` client's TLS runs here too: River
/// runs OpenSSL over memory buffers (``TLSClientSession``), since lws 4.1.6 cannot run TLS on
/// a raw client connection.
extension WebSocketConnection {
    /// Starts `request` on the service thread and waits until the WebSocket is open.
    ///
    /// Past the timeout the attempt fails with `timedOut`, also when the caller's task is
    /// cancelled at the same moment (a caller racing its own timer against this one); an
    /// earlier cancellation is a `CancellationError`.
    func connect(_ request: LWSClientRequest, timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let timedOut = RiverConnectError(.timedOut, "\(request.endpoint) did not open within \(timeout)")
        // The timeout's callback outlives the connect; it reaches this connection only until
        // the connect is over (not weakly: see `ScopedReference`).
        let connecting = ScopedReference(self)
        defer { connecting.clear() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let started = shared.withLock { $0.state.startConnecting(continuation) }
                if !started {
                    continuation.resume(throwing: clock.now >= deadline ? timedOut : CancellationError())
                    return
                }
                LWSRuntime.shared.enqueue(.connect(self, request))
                let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
                DispatchQueue.global().asyncAfter(deadline: .now() + max(0, seconds)) {
                    connecting.object?.failConnect(timedOut)
                }
            }
        } onCancel: {
            failConnect(clock.now >= deadline ? timedOut : CancellationError())
        }
    }

    /// Fails a pending connect (timeout or cancellation) and tears down the attempt.
    private func failConnect(_ error: any Error) {
        // A connect that never started fails as it starts (``connect(_:timeout:)``).
        guard case .dropFailingConnect(let continuation) = shared.withLock({ $0.state.connectGaveUp() }) else { return }
        LWSRuntime.shared.enqueue(.abort(self))
        continuation.resume(throwing: error)
    }

    /// Whether the connect command should still run (the attempt was not cancelled meanwhile).
    func serviceThreadShouldStartConnecting() -> Bool {
        shared.withLock { $0.state.isConnecting }
    }

    /// Sets up the attempt: the upgrade request to send, and for `wss` the TLS context.
    func serviceThreadPrepare(_ request: LWSClientRequest, tls: TLSClientContexts.Context?) {
        serviceThreadEndpoint = request.endpoint
        serviceThreadUsesTLS = request.tls
        let handshake = WebSocketClientHandshake()
        serviceThreadHandshake = handshake
        serviceThreadHandshakeBytes = handshake.request(path: request.path, host: request.hostHeader, headers: upgradeHeaders)
        if let tls {
            serviceThreadTLSSetup = (tls, request.serverName, request.allowInsecure)
        }
    }

    /// The connect attempt failed before or without a wsi.
    func serviceThreadConnectFailed(_ error: RiverConnectError) {
        shared.withLock { $0.state.connectFailed() }?.resume(throwing: error)
    }

    func serviceThreadAttach(_ wsi: OpaquePointer) {
        serviceThreadWSI = wsi
    }

    /// `LWS_CALLBACK_CLIENT_CONNECTION_ERROR`: the TCP connection could not be made; this
    /// attempt's own status says why (see ``LWSConnectFailure``).
    func serviceThreadConnectionError(_ message: String?, systemError: Int32?) {
        serviceThreadFailConnect(LWSConnectFailure(
            endpoint: serviceThreadEndpoint,
            message: message,
            tlsVerifyError: nil,
            tlsAlert: serviceThreadTLSAlertDescription,
            systemError: systemError,
            usesTLS: serviceThreadUsesTLS,
            requestSent: serviceThreadRequestSent
        ).error)
    }

    func serviceThreadFailConnect(_ error: RiverConnectError) {
        serviceThreadConnectError = error
        logger.debug("WebSocket connect failed", metadata: ["websocket.endpoint": "\(serviceThreadEndpoint)", "websocket.error": "\(error)"])
        serviceThreadConnectFailed(error)
    }

    /// The fatal TLS alert the server sent, described (for example "certificate required").
    var serviceThreadTLSAlertDescription: String? {
        let recorded = serviceThreadTLSAlert.pointee
        guard recorded != 0 else { return nil }
        let alert = recorded & 0xFF
        // OpenSSL 1.1's table predates some TLS 1.3 alerts (RFC 8446 §6).
        let tls13: [Int32: String] = [109: "missing extension", 116: "certificate required", 120: "no application protocol"]
        let known = river_tls_alert_description(alert).map { String(cString: $0) }.flatMap { $0 == "unknown" ? nil : $0 }
        return "\(known ?? tls13[alert] ?? "alert") (TLS alert \(alert))"
    }

    /// The handshake completed. Returns `false` when the attempt was abandoned meanwhile.
    @discardableResult
    func serviceThreadEstablished() -> Bool {
        let (proceed, connect) = shared.withLock { $0.state.opened() }
        connect?.resume()
        return proceed
    }

    /// `LWS_CALLBACK_RAW_CONNECTED` (client side): TCP is up. A `ws` connection sends its
    /// upgrade request from the first writable callback; a `wss` one starts TLS first.
    /// - Returns: -1 when the socket must close now.
    func serviceThreadConnected(_ wsi: OpaquePointer) -> Int32 {
        guard let (context, serverName, insecure) = serviceThreadTLSSetup else {
            LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
            return 0
        }
        serviceThreadTLSSetup = nil
        guard let session = TLSClientSession(context: context, host: serverName, insecure: insecure, alertSlot: serviceThreadTLSAlert) else {
            serviceThreadFailConnect(RiverConnectError(.tls, "\(serviceThreadEndpoint): OpenSSL could not start a TLS session", tlsDetail: "no TLS session"))
            return -1
        }
        serviceThreadTLS = session
        do {
            _ = try session.handshake()
        } catch {
            serviceThreadTLSFailed(error)
            return -1
        }
        // The client's hello goes out from the writable callback.
        LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
        return 0
    }

    /// Ciphertext from a `wss` server: the TLS handshake, then the plaintext it carries.
    func serviceThreadReceiveTLS(_ wsi: OpaquePointer, _ session: TLSClientSession, _ ciphertext: UnsafeRawBufferPointer) -> Int32 {
        session.receive(ciphertext)
        var verdict: Int32 = 0
        do {
            if !session.isEstablished {
                if try session.handshake() {
                    // TLS is up: the upgrade request goes out.
                    LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi)
                }
            }
            if session.isEstablished {
                try session.readPlaintext(into: LWSRuntime.shared.serviceThreadTLSPlaintext) { plaintext in
                    verdict = serviceThreadReceivePlaintext(wsi, plaintext)
                    return verdict == 0
                }
            }
        } catch {
            serviceThreadTLSFailed(error)
            return -1
        }
        // Reading may have produced TLS records to send (a handshake message, a key update).
        if session.hasCiphertext { LWSRuntime.shared.serviceThreadCallbackOnWritable(wsi) }
        return verdict
    }

    /// The TLS session failed: before the WebSocket opened the connect fails with why, after
    /// it the connection is dropped.
    func serviceThreadTLSFailed(_ failure: TLSClientSession.Failure) {
        let error = LWSConnectFailure(
            endpoint: serviceThreadEndpoint,
            message: failure.reason,
            tlsVerifyError: failure.verifyError,
            tlsAlert: serviceThreadTLSAlertDescription,
            systemError: nil,
            usesTLS: true,
            requestSent: serviceThreadRequestSent
        ).error
        if serviceThreadHandshake != nil {
            serviceThreadFailConnect(error)
        } else {
            logger.debug("WebSocket TLS failed", metadata: ["websocket.error": "\(error)"])
            recordClosure(RiverConnectionClosure(code: nil, reason: "TLS failed: \(error.message)", initiatedLocally: false))
        }
    }

    /// Hands the ciphertext a `wss` session has ready to lws.
    /// - Returns: `false` when writing failed.
    func serviceThreadFlushCiphertext(_ wsi: OpaquePointer) -> Bool {
        guard let session = serviceThreadTLS else { return true }
        return session.takeCiphertext(into: LWSRuntime.shared.serviceThreadTLSCiphertext) { ciphertext in
            serviceThreadSend(wsi, ciphertext)
        }
    }
}

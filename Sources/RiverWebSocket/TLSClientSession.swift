import CLibWebSockets

/// One `wss` client connection's TLS session, run by OpenSSL over memory buffers: the
/// ciphertext lws reads from the raw socket goes in and plaintext comes out; plaintext frames go
/// in and ciphertext comes out for lws to send. (lws 4.1.6 cannot run TLS on a raw client
/// connection itself, and River reads its frames on raw connections; see
/// ``WebSocketFrameReader``.) Used on the libwebsockets service thread only.
final class TLSClientSession {
    /// Why the session cannot go on.
    struct Failure: Error {
        /// The certificate verification error, when verification is what failed.
        var verifyError: String?
        /// OpenSSL's reason (may be empty), or "closed" when the server ended the session.
        var reason: String
    }

    private let ssl: OpaquePointer
    /// Whether the handshake completed (the upgrade request may go out).
    private(set) var isEstablished = false

    /// Starts a session on `context`.
    /// - Parameters:
    ///   - host: The server's name or address: sent as the server name (names only) and, unless
    ///     `insecure`, what its certificate must match.
    ///   - insecure: Accept any certificate.
    ///   - alertSlot: Where the first fatal alert from the server is recorded (see
    ///     `river_tls_alert_recorder`); must outlive the session.
    init?(context: TLSClientContexts.Context, host: String, insecure: Bool, alertSlot: UnsafeMutablePointer<Int32>) {
        let isAddress = host.contains(":") || host.split(separator: ".").allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
        guard let ssl = river_tls_session_new(context.pointer, host, isAddress ? 1 : 0, insecure ? 1 : 0, alertSlot) else { return nil }
        self.ssl = ssl
    }

    deinit { river_tls_session_free(ssl) }

    /// Advances the handshake (the first call writes the client's hello).
    /// - Returns: Whether it completed.
    func handshake() throws(Failure) -> Bool {
        if isEstablished { return true }
        switch river_tls_handshake(ssl) {
        case Int32(RIVER_TLS_DONE):
            isEstablished = true
            return true
        case Int32(RIVER_TLS_WANT_MORE):
            return false
        default:
            throw failure()
        }
    }

    /// Takes ciphertext from the socket.
    func receive(_ ciphertext: UnsafeRawBufferPointer) {
        guard let base = ciphertext.baseAddress, ciphertext.count > 0 else { return }
        _ = river_tls_put_ciphertext(ssl, base, Int32(ciphertext.count))
    }

    /// Decrypts what the received ciphertext holds, handing each piece of plaintext to
    /// `plaintext` (which returns `false` to stop reading).
    /// - Parameter scratch: Where plaintext is decrypted into (any size; 16 KiB holds a record).
    func readPlaintext(into scratch: UnsafeMutableRawBufferPointer, _ plaintext: (UnsafeRawBufferPointer) -> Bool) throws(Failure) {
        guard let base = scratch.baseAddress else { return }
        while true {
            let result = river_tls_read(ssl, base, Int32(scratch.count))
            if result > 0 {
                if !plaintext(UnsafeRawBufferPointer(start: base, count: Int(result))) { return }
                continue
            }
            switch result {
            case Int32(RIVER_TLS_WANT_MORE): return
            case Int32(RIVER_TLS_CLOSED): throw Failure(verifyError: nil, reason: "the server ended the TLS session")
            default: throw failure()
            }
        }
    }

    /// Encrypts `plaintext`; the ciphertext waits for ``takeCiphertext(into:_:)``.
    func send(_ plaintext: UnsafeRawBufferPointer) throws(Failure) {
        guard let base = plaintext.baseAddress, plaintext.count > 0 else { return }
        var offset = 0
        while offset < plaintext.count {
            // SSL_write takes an Int32 count.
            let count = min(plaintext.count - offset, 1 << 30)
            guard river_tls_write(ssl, base + offset, Int32(count)) == Int32(RIVER_TLS_DONE) else { throw failure() }
            offset += count
        }
    }

    /// Whether ciphertext waits to be sent.
    var hasCiphertext: Bool { river_tls_pending_ciphertext(ssl) > 0 }

    /// Hands the ciphertext waiting to be sent to `send`, piece by piece through `scratch`.
    /// - Returns: `false` when `send` failed.
    func takeCiphertext(into scratch: UnsafeMutableRawBufferPointer, _ send: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        guard let base = scratch.baseAddress else { return true }
        while river_tls_pending_ciphertext(ssl) > 0 {
            let taken = river_tls_take_ciphertext(ssl, base, Int32(scratch.count))
            guard taken > 0 else { break }
            if !send(UnsafeRawBufferPointer(start: base, count: Int(taken))) { return false }
        }
        return true
    }

    private func failure() -> Failure {
        var buffer = [CChar](repeating: 0, count: 256)
        river_tls_last_error(&buffer, buffer.count)
        let reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Failure(verifyError: river_tls_verify_error(ssl).map { String(cString: $0) }, reason: reason)
    }
}

/// OpenSSL client contexts, one per TLS file configuration, kept for the life of the process
/// (like the lws vhosts they replace). Service thread only.
final class TLSClientContexts {
    /// An OpenSSL `SSL_CTX`.
    struct Context {
        let pointer: OpaquePointer
    }

    private var contexts: [LWSClientRequest.TLSFiles: Context] = [:]

    /// The context for `files`, created on first use.
    /// - Throws: OpenSSL's reason when it rejects a file.
    func context(for files: LWSClientRequest.TLSFiles) throws(TLSClientSession.Failure) -> Context {
        if let context = contexts[files] { return context }
        var error = [CChar](repeating: 0, count: 256)
        guard let pointer = river_tls_context_new(files.caFilePath, files.certificatePath, files.privateKeyPath, &error, error.count) else {
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw TLSClientSession.Failure(verifyError: nil, reason: reason)
        }
        let context = Context(pointer: pointer)
        contexts[files] = context
        return context
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import River

/// What one client connection attempt observed when it failed before the upgrade response
/// (which ``WebSocketClientHandshake`` judges), all taken from that attempt's own state (never
/// from libwebsockets' process-wide log): the text lws passed to
/// `LWS_CALLBACK_CLIENT_CONNECTION_ERROR` or OpenSSL's reason, its TLS session's certificate
/// verification result and the server's alert, its socket's pending error, and how far it got.
struct LWSConnectFailure {
    /// The connection's URL.
    var endpoint: String
    /// The `in` text of `LWS_CALLBACK_CLIENT_CONNECTION_ERROR` (for example "Unable to
    /// connect") or OpenSSL's reason for a TLS failure, or `nil` when there was none.
    var message: String?
    /// The TLS certificate verification error of this connection's TLS session.
    var tlsVerifyError: String?
    /// The fatal TLS alert the server sent after the handshake (for example "certificate
    /// required" when it rejects the client certificate under TLS 1.3).
    var tlsAlert: String?
    /// The socket's pending error (`SO_ERROR`) or the error lws saw on it, when known.
    var systemError: Int32?
    /// Whether the connection uses TLS.
    var usesTLS: Bool
    /// Whether the upgrade request was written (TCP and, for `wss`, TLS were up by then).
    var requestSent: Bool

    /// lws 4.1's text for a TCP connect that failed on every address (here: the one numeric
    /// address it was given).
    private static let tcpConnectFailed = "Unable to connect"

    /// The error this attempt reports.
    var error: RiverConnectError {
        let said = message.map { $0.isEmpty ? "" : ": \($0)" } ?? ""
        let system = systemError.map { " (\(String(cString: strerror($0))), errno \($0))" } ?? ""
        if let tlsVerifyError {
            return RiverConnectError(
                .tls, "\(endpoint): TLS certificate verification failed: \(tlsVerifyError)",
                systemError: systemError, tlsDetail: "certificate verify failed: \(tlsVerifyError)")
        }
        if let tlsAlert {
            return RiverConnectError(
                .tls, "\(endpoint): the server ended the TLS session: \(tlsAlert)",
                systemError: systemError, tlsDetail: "the server sent \(tlsAlert)")
        }
        if !requestSent && message == Self.tcpConnectFailed {
            return RiverConnectError(
                .refused, "\(endpoint): the TCP connection was refused or the host is unreachable\(system)",
                systemError: systemError)
        }
        if systemError == ECONNRESET || systemError == EPIPE || requestSent {
            return RiverConnectError(
                .closedDuringHandshake,
                "\(endpoint) accepted the connection, then closed or reset it before the WebSocket upgrade completed\(system)\(said)",
                systemError: systemError)
        }
        if usesTLS {
            return RiverConnectError(
                .tls, "\(endpoint): the TLS handshake failed\(system)\(said)",
                systemError: systemError, tlsDetail: message.flatMap { $0.isEmpty ? nil : $0 } ?? "the TLS handshake failed")
        }
        return RiverConnectError(.other, "\(endpoint): the connection failed\(system)\(said)", systemError: systemError)
    }
}

import Foundation
import River

/// What one client connection attempt observed when it failed, all taken from that attempt's
/// own wsi (never from libwebsockets' process-wide log): the text lws passed to
/// `LWS_CALLBACK_CLIENT_CONNECTION_ERROR` for it, the HTTP status of its upgrade response, its
/// TLS session's certificate verification result, its socket's pending error, and how far it
/// got.
struct LWSConnectFailure {
    /// The connection's URL.
    var endpoint: String
    /// The `in` text of `LWS_CALLBACK_CLIENT_CONNECTION_ERROR` (for example "Unable to
    /// connect", "HS: ws upgrade response not 101"), or `nil` when lws closed the attempt
    /// without one.
    var lwsMessage: String?
    /// The HTTP status of the upgrade response (`lws_http_client_http_response`), 0 when none
    /// was parsed.
    var httpStatus: Int
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
        let said = lwsMessage.map { $0.isEmpty ? "" : ": \($0)" } ?? ""
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
        if httpStatus != 0 && httpStatus != 101 {
            return RiverConnectError(
                .httpUpgrade, "\(endpoint) answered the WebSocket upgrade with HTTP \(httpStatus)\(said)",
                httpStatus: httpStatus)
        }
        if let lwsMessage, lwsMessage.hasPrefix("HS:") {
            // A 101 answer lws found invalid (accept hash, missing Upgrade header, ...).
            return RiverConnectError(
                .httpUpgrade, "\(endpoint) sent an invalid WebSocket upgrade response\(said)",
                httpStatus: httpStatus == 0 ? nil : httpStatus)
        }
        if !requestSent && lwsMessage == Self.tcpConnectFailed {
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
                systemError: systemError, tlsDetail: lwsMessage ?? "the TLS handshake failed")
        }
        return RiverConnectError(.other, "\(endpoint): the connection failed\(system)\(said)", systemError: systemError)
    }
}

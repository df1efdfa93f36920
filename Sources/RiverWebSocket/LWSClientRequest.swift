#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import River

/// Everything the service thread needs to start one client connection.
struct LWSClientRequest: Sendable {
    /// The TLS files of a `wss` connection (one OpenSSL context per distinct set, see
    /// ``TLSClientContexts``).
    struct TLSFiles: Hashable, Sendable {
        var caFilePath: String?
        var certificatePath: String?
        var privateKeyPath: String?
    }

    /// The numeric address to connect to.
    var address: String
    var port: Int
    /// Path and query, starting with `/`.
    var path: String
    /// The `Host` header.
    var hostHeader: String
    /// The host as the URL names it (no port or brackets): the TLS server name and the name or
    /// address the certificate must match.
    var serverName: String
    var tls: Bool
    var allowInsecure: Bool
    var tlsFiles: TLSFiles
    /// The URL, for messages.
    var endpoint: String
}

/// A parsed `ws://` or `wss://` URL.
struct WebSocketTarget: Equatable {
    var tls: Bool
    var host: String
    var port: Int
    var path: String
    var hostHeader: String

    init(parsing url: String) throws(RiverConnectError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw RiverConnectError(.invalidURL, "\(url) is not a URL")
        }
        switch scheme {
        case "ws": tls = false
        case "wss": tls = true
        default: throw RiverConnectError(.invalidURL, "\(url): the scheme must be ws or wss, not \(scheme)")
        }
        guard var host = components.host, !host.isEmpty else {
            throw RiverConnectError(.invalidURL, "\(url) has no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        let defaultPort = tls ? 443 : 80
        if let port = components.port {
            guard (1...65535).contains(port) else { throw RiverConnectError(.invalidURL, "\(url): port \(port) is out of range") }
            self.port = port
        } else {
            self.port = defaultPort
        }
        var path = components.percentEncodedPath
        if path.isEmpty { path = "/" }
        if let query = components.percentEncodedQuery { path += "?\(query)" }
        self.path = path
        let bracketed = host.contains(":") ? "[\(host)]" : host
        hostHeader = port == defaultPort ? bracketed : "\(bracketed):\(port)"
    }
}

import Foundation

/// A TCP port on 127.0.0.1 that refuses every connection for as long as the value lives: a
/// socket bound to it that never listens (a connect gets `ECONNREFUSED`), so no other test can
/// take the port meanwhile. Keep it alive past the connect (`withExtendedLifetime`): a local
/// may be released after its last use.
///
/// A port found by binding a listener and closing it again is free for anyone: with the suite's
/// tests running in parallel, another test's listener can get it before the connect, and the
/// "refused" connect then succeeds (seen once).
public final class RefusingPort: Sendable {
    /// The port number.
    public let port: Int
    private let fd: Int32

    /// Binds a socket to 127.0.0.1 on a port the system picks.
    /// - Throws: `POSIXError` when no socket can be bound.
    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            Foundation.close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        Foundation.close(fd)
    }
}

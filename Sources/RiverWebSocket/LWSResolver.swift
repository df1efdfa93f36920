import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import River
import Synchronization

/// Resolves host names with `getaddrinfo` on a short-lived thread of its own.
///
/// lws would call `getaddrinfo` on its service thread (this build has no async DNS), stalling
/// every connection of the process while a DNS server is slow. A blocking call on Swift's
/// cooperative pool would starve other tasks. A dedicated thread per lookup costs little next
/// to a network round trip; a lookup that outlives the timeout finishes in the background and
/// its answer is dropped.
enum LWSResolver {
    /// The numeric addresses of `host`, in `getaddrinfo` order (IPv4 and IPv6).
    /// - Throws: ``RiverConnectError`` `dnsFailure` or `timedOut`; `CancellationError`.
    static func resolve(host: String, timeout: Duration) async throws -> [String] {
        if isNumeric(host) { return [host] }
        let once = OnceResult<[String]>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                once.set(continuation)
                do {
                    try SystemThread.start(name: "river.dns", stackSize: 256 * 1024) {
                        once.complete(lookUp(host))
                    }
                } catch {
                    once.complete(.failure(RiverConnectError(.other, "cannot start a thread to resolve \(host): \(error)")))
                }
                let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
                DispatchQueue.global().asyncAfter(deadline: .now() + max(0, seconds)) {
                    once.complete(.failure(RiverConnectError(.timedOut, "resolving \(host) took longer than \(timeout)")))
                }
            }
        } onCancel: {
            once.complete(.failure(CancellationError()))
        }
    }

    static func isNumeric(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    private static func lookUp(_ host: String) -> Result<[String], any Error> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            let reason = String(cString: gai_strerror(status))
            return .failure(RiverConnectError(.dnsFailure, "could not resolve \(host): \(reason)"))
        }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if let address = current.pointee.ai_addr,
               getnameinfo(address, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(text) { addresses.append(text) }
            }
            entry = current.pointee.ai_next
        }
        if addresses.isEmpty {
            return .failure(RiverConnectError(.dnsFailure, "\(host) has no address"))
        }
        return .success(addresses)
    }
}

/// A continuation resumed exactly once, by whichever of several racers comes first.
final class OnceResult<Value: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Value, any Error>)
        case done(Result<Value, any Error>?)
    }

    private let state = Mutex<State>(.empty)

    func set(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state -> Result<Value, any Error>?? in
            switch state {
            case .empty:
                state = .waiting(continuation)
                return .none
            case .done(let result):
                state = .done(nil)
                return .some(result)
            case .waiting:
                return .none
            }
        }
        if case .some(let result) = early {
            continuation.resume(with: result ?? .failure(CancellationError()))
        }
    }

    func complete(_ result: Result<Value, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            switch state {
            case .empty:
                state = .done(result)
                return nil
            case .waiting(let continuation):
                state = .done(nil)
                return continuation
            case .done:
                return nil
            }
        }
        continuation?.resume(with: result)
    }
}

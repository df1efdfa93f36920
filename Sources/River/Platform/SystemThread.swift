#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts a detached operating-system thread running a closure: the library's own long-lived
/// threads (the libwebsockets service thread, the timer thread) and its one-off blocking work
/// (a DNS lookup).
///
/// Foundation's `Thread` would do the same, but it is the only part of Foundation proper the
/// library needed: without it River imports only `FoundationEssentials` on Linux, so a process
/// using River does not load Foundation, FoundationInternationalization and ICU (about 7 MB of
/// resident memory in `river-bench`).
package enum SystemThread {
    /// Why a thread could not be started.
    package struct StartFailure: Error, CustomStringConvertible {
        /// The `errno`-style code `pthread_create` returned.
        package let code: Int32
        package var description: String { "pthread_create failed (error \(code))" }
    }

    /// The smallest stack a thread gets: Swift's runtime needs room of its own on any thread
    /// (the first use of a type's metadata demangles its name, recursively). A 16 KiB stack (the
    /// system's minimum) overflowed there.
    package static let minimumStackSize = 128 * 1024

    /// Runs `body` on a new detached thread named `name` (at most 15 bytes are kept) with a
    /// stack of `stackSize` bytes, at least ``minimumStackSize``.
    /// - Throws: ``StartFailure`` when the system refuses a new thread.
    package static func start(name: String, stackSize: Int, _ body: @escaping @Sendable () -> Void) throws(StartFailure) {
#if !canImport(Darwin)
        // Looked up here, on the caller's thread, rather than by the new thread's first use.
        _ = setName
#endif
        // The closure crosses into the thread as one retained box; the thread releases it.
        let box = Unmanaged.passRetained(Body(name: name, run: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, max(stackSize, minimumStackSize, Int(PTHREAD_STACK_MIN)))
#if canImport(Darwin)
        var thread: pthread_t?
#else
        var thread = pthread_t()
#endif
        let code = pthread_create(&thread, &attributes, { argument in
            guard let argument else { return nil }
            let body = Unmanaged<Body>.fromOpaque(argument).takeRetainedValue()
            body.name.withCString { name in
#if canImport(Darwin)
                _ = pthread_setname_np(name)
#else
                // Glibc's module does not export it (it is a GNU extension).
                if let setName = SystemThread.setName { _ = setName(pthread_self(), name) }
#endif
            }
            body.run()
            return nil
        }, box)
        if code != 0 {
            Unmanaged<Body>.fromOpaque(box).release()
            throw StartFailure(code: code)
        }
    }

#if !canImport(Darwin)
    private typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
    /// `pthread_setname_np`, looked up once.
    private static let setName: SetName? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_setname_np")
        .map { unsafeBitCast($0, to: SetName.self) }
#endif

    /// What a new thread runs, carried through `pthread_create`'s one pointer argument.
    private final class Body: Sendable {
        let name: String
        let run: @Sendable () -> Void

        init(name: String, run: @escaping @Sendable () -> Void) {
            // Linux keeps at most 15 bytes of a thread's name (and refuses longer ones).
            self.name = String(decoding: name.utf8.prefix(15), as: UTF8.self)
            self.run = run
        }
    }
}

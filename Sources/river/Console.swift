#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Line output on stdout and stderr, written straight to the file descriptors (no stdio
/// buffering), so every line is visible at once in a terminal, a pipe or a file.
enum Console {
    private static let lock = Mutex(())

    /// Writes `line` and a newline to stdout.
    static func output(_ line: String) {
        write(line + "\n", to: 1)
    }

    /// Writes `line` and a newline to stderr.
    static func error(_ line: String) {
        write(line + "\n", to: 2)
    }

    /// Writes `text` to stderr as is (for progress lines redrawn with `\r`).
    static func errorRaw(_ text: String) {
        write(text, to: 2)
    }

    /// Whether stderr is a terminal.
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Makes writes to a closed pipe fail with EPIPE instead of killing the process.
    static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    private static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        lock.withLock { _ in
            bytes.withUnsafeMutableBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = systemWrite(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }

    private static func systemWrite(_ fd: Int32, _ pointer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(fd, pointer, count)
        #else
        Darwin.write(fd, pointer, count)
        #endif
    }
}

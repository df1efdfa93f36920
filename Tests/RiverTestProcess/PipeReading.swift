public import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Blocking reads of a child process's output pipe that survive signals.
///
/// Foundation's `FileHandle.availableData` and `readDataToEndOfFile()` end the process with a
/// fatal error when a `read` is interrupted by a signal (`EINTR`): any thread of a test process
/// that starts child processes may take their `SIGCHLD`. These retry instead.
public enum PipeReading {
    /// Reads `handle` until end of file, handing each chunk read to `chunk` as it comes.
    /// Stops early, as at end of file, on any error other than an interruption.
    public static func readToEnd(_ handle: FileHandle, _ chunk: (Data) -> Void) {
        let descriptor = handle.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            chunk(Data(buffer[..<count]))
        }
    }

    /// Everything `handle` yields until end of file.
    public static func readAll(_ handle: FileHandle) -> Data {
        var all = Data()
        readToEnd(handle) { all.append($0) }
        return all
    }
}

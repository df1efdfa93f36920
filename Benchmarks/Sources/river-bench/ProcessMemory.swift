#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's resident memory as Linux reports it in `/proc/self` (elsewhere: nothing).
///
/// The scale scenarios read the current RSS before and after a step, and reset the kernel's
/// high-water mark (`/proc/self/clear_refs` ← `5`, Linux 4.0+) to see the peak within a step.
enum ProcessMemory {
    /// Current resident set size in bytes (`/proc/self/statm`), or `nil` where unavailable.
    static func residentBytes() -> Double? {
        guard let text = readFile("/proc/self/statm") else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return nil }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Resets the peak resident set size to the current one. Returns `false` where unsupported.
    @discardableResult
    static func resetPeak() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let written = "5".utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, 1) }
        return written == 1
    }

    /// Peak resident set size in bytes since the last ``resetPeak()`` (`VmHWM`), or `nil`.
    static func peakBytes() -> Double? {
        guard let text = readFile("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let number = line.dropFirst("VmHWM:".count).filter { $0.isNumber }
            return Double(String(number)).map { $0 * 1024 }
        }
        return nil
    }

    private static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One block of the send buffer's memory (see ``SendBuffer``).
///
/// A block of 64 KiB or more is mapped from the operating system directly and unmapped when
/// freed, so its memory goes back at once. From the heap, blocks that several threads free
/// (the transport and the connection's I/O thread release them) stay behind in the allocator's
/// per-thread arenas and fragment them: an upload peaked at 115 MB that way against 71 MB with
/// blocks mapped (both with a 32 MiB bound).
// @unchecked Sendable: the block is raw memory with shared readers and one writer. The send
// buffer (a value owned by the session machine, under the transport's lock) writes only bytes
// past everything it has handed out, and rewrites handed-out bytes only after checking that it
// holds the sole reference (`isKnownUniquelyReferenced`). A ``RiverMessageBytes`` reads only
// its own range, which was written before the value was created and handed over through the
// connection's lock.
final class SendBufferChunk: @unchecked Sendable {
    /// The first byte.
    let base: UnsafeMutableRawPointer
    /// How many bytes the block holds.
    let capacity: Int
    /// The length of the mapping, when the block is mapped (else 0: from the heap).
    private let mappedLength: Int

    /// The smallest block that is mapped rather than taken from the heap.
    static let smallestMapped = 64 * 1024

    init(capacity: Int) {
        self.capacity = capacity
        if capacity >= Self.smallestMapped, let mapped = Self.map(capacity) {
            (base, mappedLength) = mapped
        } else {
            base = .allocate(byteCount: max(capacity, 1), alignment: 16)
            mappedLength = 0
        }
    }

    deinit {
        if mappedLength > 0 {
            munmap(base, mappedLength)
        } else {
            base.deallocate()
        }
    }

    /// Maps `capacity` bytes, rounded up to whole pages; nil when the system refuses.
    private static func map(_ capacity: Int) -> (UnsafeMutableRawPointer, Int)? {
        let page = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)
        let length = (capacity + page - 1) / page * page
        guard let pointer = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            pointer != MAP_FAILED
        else { return nil }
        return (pointer, length)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Byte arrays that hold a large message on its way through (a received frame, a decoded
/// `bin`, an encoded request, the bytes of a `Data` payload), made so that their memory goes
/// back to the system as soon as they are freed.
///
/// glibc's `malloc` maps a block of its own for a request at or above its mmap threshold and
/// unmaps it when freed, but it raises that threshold to the size of every such block freed,
/// up to 32 MiB (`DEFAULT_MMAP_THRESHOLD_MAX` on 64-bit). After the first large message, blocks
/// of that size come from its heaps instead, and stay resident once freed (up to one per
/// thread's arena: 44 MB stayed for 8 MiB echoes). An array whose capacity is reserved past
/// that ceiling is always mapped, and unmapped when freed. Only the pages written are
/// resident: the reserve beyond the array's count costs address space, not memory.
/// (Other allocators, musl's and Darwin's, map large blocks anyway.)
///
/// Arrays live in the public ``RiverValue/bytes(_:)`` and ``RiverConnectionEvent/message(_:)``,
/// so this shapes the array's allocation rather than replacing it with a mapping of its own
/// (as ``SendBufferChunk`` does for the send buffer's blocks).
package enum LargeByteArray {
    /// Arrays of at least this many bytes are reserved to be mapped.
    ///
    /// Smaller ones stay on the heap: a fresh mapping's pages fault in as they are first
    /// written, ~0.45 ms per MiB on this VM, which for 1 MiB messages cost more than everything
    /// else (`stream_1mb` 1.5–1.8 → 2.2–2.5 ms of CPU per MB with a 1 MiB threshold). From
    /// 2 MiB up an array holds at least one whole huge page (``adviseHugePages(_:count:)``).
    package static let threshold = 2 << 20

    /// A capacity above glibc's largest mmap threshold (32 MiB), with room for the array's
    /// header and the allocator's.
    package static let mappedCapacity = 32 << 20 + 4096

    /// The capacity to reserve for an array that will hold `count` bytes: `count` itself when
    /// it is small, else at least ``mappedCapacity``.
    @inline(__always)
    package static func capacity(for count: Int) -> Int {
        count < threshold ? count : max(count, mappedCapacity)
    }

    /// An array of the bytes `source` holds, reserved as ``capacity(for:)`` says.
    package static func copy(_ source: UnsafeRawBufferPointer) -> [UInt8] {
        let count = source.count
        guard count >= threshold, let base = source.baseAddress else { return Array(source) }
        return [UInt8](unsafeUninitializedCapacity: capacity(for: count)) { buffer, initialized in
            guard let target = buffer.baseAddress else { return }
            adviseHugePages(UnsafeMutableRawPointer(target), count: count)
            UnsafeMutableRawPointer(target).copyMemory(from: base, byteCount: count)
            initialized = count
        }
    }

    /// The size of a transparent huge page on Linux (x86-64, and arm64 with 4 KiB pages).
    static let hugePage = 2 << 20

    /// Asks Linux to back the whole 2 MiB pages among the `count` bytes from `start` (the
    /// first bytes of an array reserved here, about to be written) with transparent huge pages.
    ///
    /// Every page of a fresh mapping is faulted in when first written, and on this VM that
    /// costs ~0.45 ms per MiB, more than the copy filling it (an 8 MiB buffer: 3.8 ms in 4 KiB
    /// pages, 0.4 ms in huge pages). Only pages entirely inside the bytes to be written are
    /// advised, so nothing beyond them becomes resident (the resident set stays the bytes
    /// written, to the 4 KiB page). The advice is best effort: with THP disabled it does
    /// nothing.
    package static func adviseHugePages(_ start: UnsafeMutableRawPointer, count: Int) {
        #if os(Linux)
        guard count >= hugePage else { return }
        let first = UInt(bitPattern: start)
        let mask = UInt(hugePage - 1)
        // The huge page holding the first byte counts only when it starts in the same 4 KiB
        // page: then it begins with this mapping (the allocator's and the array's headers), as
        // the kernel aligns large anonymous mappings to huge pages. Else the next one.
        var low = first & ~mask
        if first - low >= 4096 { low = (first + mask) & ~mask }
        let high = (first + UInt(count)) & ~mask
        guard high > low, let pointer = UnsafeMutableRawPointer(bitPattern: low) else { return }
        _ = madvise(pointer, Int(high - low), MADV_HUGEPAGE)
        #endif
    }
}

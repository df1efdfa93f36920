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
    package static let threshold = 1 << 20

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
            UnsafeMutableRawPointer(target).copyMemory(from: base, byteCount: count)
            initialized = count
        }
    }
}

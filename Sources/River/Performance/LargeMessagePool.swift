import Synchronization

/// Blocks of memory that one client's large outbound messages are encoded into and that its
/// send buffer hands back once they are acknowledged, so the next large message is written
/// into pages that are already resident.
///
/// A message of more than ``SendBuffer/maximumBlockSize`` and less than
/// ``LargeByteArray/threshold`` bytes (msgpack) is encoded straight into a block taken here
/// (``take(capacity:)``) and waits in the send buffer as that block. Encoded into a fresh
/// array, its memory came from glibc's heaps, which trim their free tops back to the system
/// (`madvise`) while such arrays come and go: every 1 MiB message was written into pages
/// faulted in anew, 256 faults per MiB, about a third of the client's CPU in `stream_1mb`.
///
/// A block comes back (``recycle(_:)``) only when the send buffer holds its sole reference:
/// no connection still reads it, so the next message never overwrites bytes a previous one
/// still needs. At most ``maximumSpareBytes`` of blocks wait here, and once everything sent
/// is acknowledged at most one (``settle()``): a client that stops sending large messages
/// keeps one block of less than 2 MiB. Larger messages are not kept (``LargeByteArray``: their
/// memory goes back to the system when they are acknowledged).
package final class LargeMessagePool: Sendable {
    private let spares = Mutex<[SendBufferChunk]>([])

    /// An empty pool.
    package init() {}

    /// The smallest message encoded into a block from here: larger than the send buffer's
    /// shared blocks.
    static var smallestMessage: Int { SendBuffer.maximumBlockSize + 1 }
    /// Messages from this size on are not pooled (see ``LargeByteArray``).
    static var largestMessage: Int { LargeByteArray.threshold - 1 }
    /// The most memory the spare blocks hold together.
    static let maximumSpareBytes = 8 << 20
    /// Capacities are rounded up to this, so messages of slightly different sizes share blocks.
    static let granularity = 64 * 1024

    /// The number of spare blocks (tests).
    package var spareCount: Int { spares.withLock { $0.count } }

    /// `message` encoded whole with `codec`: into a block of this pool when its size is in the
    /// pool's range, else into an array of its own. A server that keeps its sent messages
    /// until acknowledged hands them back with `recycle(_:)`.
    package func encode(_ message: TransportMessage, with codec: MessagePackCodec) throws(RiverCodecError) -> RiverMessageBytes {
        var chunk: SendBufferChunk?
        let output = try codec.encode(message) { size in
            guard size >= Self.smallestMessage, size <= Self.largestMessage else { return nil }
            let taken = take(capacity: size)
            chunk = taken
            return taken.base
        }
        switch output {
        case .bytes(let bytes): return RiverMessageBytes(bytes)
        case .stored(let count):
            guard let chunk else { throw RiverCodecError("msgpack: a large message was stored nowhere") }
            return RiverMessageBytes(chunk: chunk, offset: 0, count: count)
        }
    }

    /// Takes back the block `bytes` lie in, when ``encode(_:with:)`` put them there and
    /// nothing else refers to them any longer (a connection still framing them, a copy kept
    /// for a replay); otherwise just drops `bytes`.
    package func recycle(_ bytes: consuming RiverMessageBytes) {
        guard let chunk = bytes.takeSoleChunk(),
            chunk.capacity >= Self.smallestMessage, chunk.capacity <= Self.largestMessage + Self.granularity
        else { return }
        recycle(chunk)
    }

    /// A block of at least `capacity` bytes: a spare when one is large enough, else a new one.
    func take(capacity: Int) -> SendBufferChunk {
        let spare = spares.withLock { spares -> SendBufferChunk? in
            guard let index = spares.firstIndex(where: { $0.capacity >= capacity }) else { return nil }
            return spares.remove(at: index)
        }
        if let spare { return spare }
        let rounded = (capacity + Self.granularity - 1) / Self.granularity * Self.granularity
        return SendBufferChunk(capacity: rounded)
    }

    /// Keeps `chunk` for a later message, unless the spares hold enough already. The caller
    /// holds its only reference (checked with `isKnownUniquelyReferenced`).
    func recycle(_ chunk: consuming SendBufferChunk) {
        let chunk = chunk
        spares.withLock { spares in
            let held = spares.reduce(0) { $0 + $1.capacity }
            guard held + chunk.capacity <= Self.maximumSpareBytes else { return }
            spares.append(chunk)
        }
    }

    /// Everything sent was acknowledged: keeps the largest spare only.
    func settle() {
        // The others are returned and unmapped after the lock is released.
        _ = spares.withLock { spares -> [SendBufferChunk] in
            guard spares.count > 1, let largest = spares.indices.max(by: { spares[$0].capacity < spares[$1].capacity })
            else { return [] }
            let kept = spares.remove(at: largest)
            var dropped = [kept]
            swap(&dropped, &spares)
            return dropped
        }
    }
}

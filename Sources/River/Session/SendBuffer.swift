internal import DequeModule

/// The session's unacknowledged messages, exactly as first encoded, in a few large blocks of
/// memory instead of one heap block per message.
///
/// Messages are written one after another into the newest block; one that does not fit opens a
/// new block (its size grows with what is buffered, from 256 bytes to 256 KiB); a message
/// larger than that is kept as the encoder wrote it, as a block of its own: its own array, or
/// a block of the encoder's ``LargeMessagePool`` that goes back there once acknowledged. An
/// acknowledgement drops messages from the front, and a block whose messages are all
/// acknowledged is freed, or kept as the one spare block. Besides the bytes there is one 4-byte
/// length per message; the seqs are consecutive, so they are not stored.
///
/// ``bytes`` is what counts against the session's bound: each message's bytes and its length
/// entry, plus the unused end of every block that is no longer written to. Memory is that plus
/// at most the acknowledged start of the oldest block, the unfilled end of the newest and the
/// spare (three blocks, 768 KiB at most). Once everything is acknowledged, blocks larger than
/// 16 KiB are freed.
///
/// The messages a connection gets (``RiverMessageBytes``) point into the blocks: nothing is
/// copied between the encoder and the connection's framing.
struct SendBuffer: Sendable {
    private struct Block: Sendable {
        var storage: SendBufferChunk
        /// The one message of a block that is the encoder's own array (a message larger than
        /// ``SendBuffer/maximumBlockSize``, kept without a copy); then `storage` is unused.
        var whole: [UInt8]?
        /// Where `storage` goes back when its one message is acknowledged (a message the
        /// encoder wrote into a block of the pool).
        var pool: LargeMessagePool?
        /// Bytes written.
        var used = 0
        /// Where its oldest unacknowledged message starts.
        var head = 0
        /// Its unacknowledged messages.
        var messages = 0
        /// How many bytes it holds (a block of one message holds nothing beyond it).
        var capacity: Int { whole?.count ?? (pool == nil ? storage.capacity : used) }
        /// Whether it holds one message only, and nothing else is written to it.
        var isDedicated: Bool { whole != nil || pool != nil }
    }

    /// The storage of a block that is an array.
    private static let noStorage = SendBufferChunk(capacity: 0)

    /// Oldest first; every block but the newest holds at least one unacknowledged message.
    private var blocks: Deque<Block> = []
    /// Each unacknowledged message's length, oldest first.
    private var lengths: Deque<UInt32> = []
    private var spare: SendBufferChunk?
    /// The pool of the latest message kept in a block of one (``settle()`` trims it).
    private var largePool: LargeMessagePool?
    /// Where a message's seq and ack are encoded before being copied in (kept, so that this
    /// costs no allocation).
    private var staging: [UInt8] = []

    /// The seq of the oldest message held, or ``nextSeq`` when none is.
    private(set) var firstSeq = 0
    /// What counts against the bound (see the type's documentation).
    private(set) var bytes = 0

    /// The seq the next message gets.
    var nextSeq: Int { firstSeq + lengths.count }
    /// How many messages are held.
    var count: Int { lengths.count }
    /// Whether no message is held.
    var isEmpty: Bool { lengths.isEmpty }
    /// The sizes of the blocks in use, oldest first (the spare not included).
    var blockSizes: [Int] { blocks.map(\.capacity) }

    /// What the bound counts per message beyond its bytes: its length entry.
    static let bytesPerMessage = MemoryLayout<UInt32>.size
    /// The smallest block: an idle session holds one, with a heartbeat echo or two.
    static let minimumBlockSize = 256
    /// The largest block made for several messages; a larger message gets a block of its own.
    static let maximumBlockSize = 256 * 1024
    /// The largest block kept once everything is acknowledged.
    static let largestBlockKeptWhenEmpty = 16 * 1024

    /// Appends one message made of `head`, what `middle` appends to an empty array, and `tail`,
    /// and gives it the seq ``nextSeq``.
    /// - Parameter limit: The largest message accepted.
    /// - Returns: The message's bytes in the buffer.
    /// - Throws: ``SessionStateMachine/SendError/tooLarge(bytes:limit:)`` when the message is
    ///   larger than `limit`; nothing is appended then.
    mutating func append(
        head: consuming [UInt8], middle: (inout [UInt8]) -> Void, tail: [UInt8], limit: Int
    ) throws(SessionStateMachine.SendError) -> RiverMessageBytes {
        staging.removeAll(keepingCapacity: true)
        middle(&staging)
        let count = head.count + staging.count + tail.count
        // Lengths, and offsets in a block, are 32-bit (a block over 256 KiB holds one message).
        let limit = min(limit, Int(UInt32.max))
        guard count <= limit else { throw .tooLarge(bytes: count, limit: limit) }
        lengths.append(UInt32(count))
        bytes += count + Self.bytesPerMessage
        if count > Self.maximumBlockSize {
            // A block of its own anyway: the encoder's array becomes it (the codec reserved
            // room for the rest), so a big message is not copied once more.
            var whole = head
            whole.append(contentsOf: staging)
            whole.append(contentsOf: tail)
            closeNewestBlock()
            blocks.append(Block(storage: Self.noStorage, whole: whole, used: count, messages: 1))
            return RiverMessageBytes(whole)
        }
        makeRoom(for: count)
        let last = blocks.count - 1
        let storage = blocks[last].storage
        let offset = blocks[last].used
        var position = storage.base + offset
        Self.copy(head, to: &position)
        Self.copy(staging, to: &position)
        Self.copy(tail, to: &position)
        blocks[last].used += count
        blocks[last].messages += 1
        return RiverMessageBytes(chunk: storage, offset: offset, count: count)
    }

    /// Appends one message whose first `count` bytes the encoder wrote into `chunk` (a block
    /// of `pool`): what `middle` appends to an empty array and `tail` are written after them,
    /// and the chunk becomes a block of its own, given back to `pool` once the message is
    /// acknowledged and nobody else reads it.
    /// - Returns: The message's bytes in the buffer.
    /// - Throws: As ``append(head:middle:tail:limit:)``.
    mutating func append(
        chunk: consuming SendBufferChunk, count: Int, pool: LargeMessagePool, middle: (inout [UInt8]) -> Void,
        tail: [UInt8], limit: Int
    ) throws(SessionStateMachine.SendError) -> RiverMessageBytes {
        staging.removeAll(keepingCapacity: true)
        middle(&staging)
        let total = count + staging.count + tail.count
        let limit = min(limit, Int(UInt32.max))
        guard total <= limit else { throw .tooLarge(bytes: total, limit: limit) }
        let chunk = chunk
        guard total <= chunk.capacity else {
            // The encoder reserved room for the rest; should it not have, the bytes are copied.
            let head = Array(UnsafeRawBufferPointer(start: chunk.base, count: count))
            let middle = staging
            return try append(head: head, middle: { $0.append(contentsOf: middle) }, tail: tail, limit: limit)
        }
        var position = chunk.base + count
        Self.copy(staging, to: &position)
        Self.copy(tail, to: &position)
        lengths.append(UInt32(total))
        bytes += total + Self.bytesPerMessage
        closeNewestBlock()
        blocks.append(Block(storage: chunk, whole: nil, pool: pool, used: total, messages: 1))
        largePool = pool
        return RiverMessageBytes(chunk: chunk, offset: 0, count: total)
    }

    /// Drops every message with a seq below `ack`.
    mutating func release(upTo ack: Int) {
        guard firstSeq < ack, !lengths.isEmpty else { return }
        while firstSeq < ack, let length = lengths.popFirst() {
            firstSeq += 1
            let count = Int(length)
            bytes -= count + Self.bytesPerMessage
            blocks[0].head += count
            blocks[0].messages -= 1
            if blocks[0].messages == 0, blocks.count > 1 {
                let block = blocks.removeFirst()
                bytes -= block.capacity - block.used
                free(consume block)
            }
        }
        if lengths.isEmpty { settle() }
    }

    /// Calls `body` with every message held, oldest first.
    func forEach(_ body: (RiverMessageBytes) -> Void) {
        var index = lengths.startIndex
        for block in blocks {
            if let whole = block.whole, block.messages == 1 {
                body(RiverMessageBytes(whole))
                index += 1
                continue
            }
            var offset = block.head
            for _ in 0..<block.messages {
                let count = Int(lengths[index])
                body(RiverMessageBytes(chunk: block.storage, offset: offset, count: count))
                offset += count
                index += 1
            }
        }
    }

    // MARK: Blocks

    private static func copy(_ part: [UInt8], to position: inout UnsafeMutableRawPointer) {
        part.withUnsafeBytes { source in
            guard let base = source.baseAddress else { return }
            position.copyMemory(from: base, byteCount: source.count)
        }
        position += part.count
    }

    /// Makes sure the newest block has `count` bytes free, opening a new one if not.
    private mutating func makeRoom(for count: Int) {
        if let last = blocks.last, !last.isDedicated, last.capacity - last.used >= count { return }
        closeNewestBlock()
        let wanted = min(Self.maximumBlockSize, max(Self.minimumBlockSize, (bytes / 4).nextPowerOfTwo))
        let size = max(count, wanted)
        if let spare, spare.capacity >= size {
            self.spare = nil
            blocks.append(Block(storage: spare))
        } else {
            blocks.append(Block(storage: SendBufferChunk(capacity: size)))
        }
    }

    /// Stops writing to the newest block: its unused end counts from now until it is freed,
    /// or it goes when all its messages are acknowledged already.
    private mutating func closeNewestBlock() {
        guard let last = blocks.last else { return }
        if last.messages == 0 {
            // All acknowledged (and not rewound: someone still reads it).
            free(blocks.removeLast())
        } else {
            bytes += last.capacity - last.used
        }
    }

    /// Lets go of a block none of whose messages is held any longer: its memory goes back to
    /// its pool or becomes the spare when nobody else reads it, else it is freed when the
    /// last reader lets go.
    private mutating func free(_ block: consuming Block) {
        var block = block
        if block.whole != nil { return }
        // Moved out, so that the block's own reference does not count.
        var storage = block.storage
        block.storage = Self.noStorage
        guard let pool = block.pool else { return recycle(consume storage) }
        if isKnownUniquelyReferenced(&storage) { pool.recycle(consume storage) }
    }

    /// Keeps a freed block as the spare when nobody else reads it and it is the largest yet.
    private mutating func recycle(_ storage: consuming SendBufferChunk) {
        var storage = storage
        guard storage.capacity <= Self.maximumBlockSize, spare.map({ $0.capacity < storage.capacity }) ?? true,
            isKnownUniquelyReferenced(&storage)
        else { return }
        spare = storage
    }

    /// Everything is acknowledged: large blocks are freed, and the newest block starts over
    /// from its beginning when nobody else reads it.
    private mutating func settle() {
        if let size = spare?.capacity, size > Self.largestBlockKeptWhenEmpty { spare = nil }
        defer { largePool?.settle() }
        guard var last = blocks.popLast() else { return }
        guard !last.isDedicated, last.storage.capacity <= Self.largestBlockKeptWhenEmpty else {
            // A large block is freed; a pooled one goes back to its pool.
            if last.pool != nil { free(consume last) }
            return
        }
        if isKnownUniquelyReferenced(&last.storage) {
            last.used = 0
            last.head = 0
        }
        blocks.append(last)
    }
}

extension Int {
    /// The smallest power of two at least `self` (1 for zero and below).
    fileprivate var nextPowerOfTwo: Int {
        self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount)
    }
}

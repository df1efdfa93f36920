/// A codec that can encode a message in two parts around its `seq` and `ack`, so a sender
/// encodes outside its lock and only appends those two numbers (and the rest) under it.
///
/// The parts joined with ``appendSeqAck(seq:ack:to:)`` between them must equal
/// ``RiverCodec/encode(_:)`` of the message with that seq and ack, byte for byte.
protocol SeqAckSplitEncoding: RiverCodec {
    /// The bytes before the `seq` key and the bytes after the `ack` value; `message.seq` and
    /// `message.ack` are ignored. The head's capacity is exactly enough for the seq and ack at
    /// their longest and the tail, so appending them never reallocates, and a message held in
    /// the send buffer wastes at most a few dozen bytes.
    func encodeAroundSeqAck(_ message: TransportMessage) throws(RiverCodecError) -> (head: [UInt8], tail: [UInt8])

    /// Appends the `seq` and `ack` keys and values as ``RiverCodec/encode(_:)`` writes them.
    func appendSeqAck(seq: Int, ack: Int, to bytes: inout [UInt8])
}

extension EnvelopeKey {
    /// Splits `order` around its adjacent `seq` and `ack`: the keys before and after them.
    static func aroundSeqAck(_ order: [EnvelopeKey]) -> (before: ArraySlice<EnvelopeKey>, after: ArraySlice<EnvelopeKey>) {
        // Every order keeps seq and ack together; should one not, everything goes before.
        guard let seq = order.firstIndex(of: .seq), seq + 1 < order.count, order[seq + 1] == .ack else {
            return (order[...], [])
        }
        return (order[..<seq], order[(seq + 2)...])
    }
}

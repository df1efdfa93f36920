/// A codec that can read a frame's `seq` and `ack` without decoding the rest of it.
///
/// The transport reads them ahead of decoding a large inbound frame, so that the messages the
/// frame acknowledges leave the send buffer before the frame's payload is decoded: for a big
/// echo, the request would otherwise still be held while its answer is decoded (three copies
/// of the payload live at once instead of two).
protocol SeqAckPeeking: RiverCodec {
    /// The frame's top-level `seq` and `ack` when both are there as non-negative integers;
    /// `nil` for anything else (the full decode then reports what is wrong).
    func peekSeqAck(_ bytes: [UInt8]) -> (seq: Int, ack: Int)?
}

extension MessagePackCodec: SeqAckPeeking {
    func peekSeqAck(_ bytes: [UInt8]) -> (seq: Int, ack: Int)? {
        bytes.withUnsafeBytes { raw in
            var reader = MessagePackReader(raw)
            var seq: Int?
            var ack: Int?
            do throws(RiverCodecError) {
                guard let count = try reader.mapHeader() else { return nil }
                for _ in 0..<count {
                    guard let key = try reader.stringBytes() else { return nil }
                    switch EnvelopeKey.lookup(utf8: key) {
                    case .seq?: seq = try reader.nonNegativeInteger()
                    case .ack?: ack = try reader.nonNegativeInteger()
                    default: try reader.skipValue()
                    }
                    if let seq, let ack { return (seq, ack) }
                }
            } catch {
                return nil
            }
            return nil
        }
    }
}

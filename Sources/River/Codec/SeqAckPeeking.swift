#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

/// Recognising, from a frame's bytes alone, a well-formed message with the Ack bit from the
/// session's peer: a heartbeat. The session's only use of such a message is its `seq`, its
/// `ack` and the echo it answers with (passive heartbeating), so the transport handles it
/// without the general decode (``SessionStateMachine/heartbeatReceived(seq:ack:now:into:)``).
/// Only msgpack has it (the transport holds the codec as `MessagePackCodec?`, not as an
/// existential, which would be copied on every message).
extension MessagePackCodec {
    /// `{type: "ACK"}`, as the reference (and this codec) encodes a heartbeat's payload.
    private static let heartbeatPayload: [UInt8] = [0x81, 0xA4] + Array("type".utf8) + [0xA3] + Array("ACK".utf8)

    /// The `seq` and `ack` of `bytes` when they are certainly a message that
    /// ``RiverCodec/decode(_:)`` would accept, from `serverID` (its UTF-8 bytes), with the Ack
    /// control flag, and nothing in it the session would look at but those; `nil` for anything
    /// else, and for any frame this cannot vouch for (the general path then takes it and
    /// reports whatever is wrong exactly as before).
    ///
    /// Accepts exactly the eight envelope keys, each once and well typed (strings ASCII, so
    /// valid UTF-8; `seq` and `ack` non-negative integers; `controlFlags` a non-negative
    /// integer with the Ack bit; the payload `{type: "ACK"}` byte for byte), `from` equal to
    /// `serverID`, and nothing after the map. Anything else (optional or unknown keys,
    /// duplicates, other integer or payload forms, a short or long frame) is left to the
    /// general decode.
    func peekHeartbeat(_ bytes: [UInt8], from serverID: [UInt8]) -> (seq: Int, ack: Int)? {
        bytes.withUnsafeBytes { raw -> (seq: Int, ack: Int)? in
            var reader = MessagePackReader(raw)
            var seq = -1
            var ack = -1
            var seen: UInt16 = 0
            do throws(RiverCodecError) {
                guard try reader.mapHeader() == 8 else { return nil }
                for _ in 0..<8 {
                    guard let keyBytes = try reader.stringBytes(), let key = EnvelopeKey.lookup(utf8: keyBytes) else {
                        return nil
                    }
                    let bit: UInt16 = 1 << key.rawValue
                    guard seen & bit == 0 else { return nil }
                    seen |= bit
                    switch key {
                    case .seq:
                        guard let value = try reader.nonNegativeInteger() else { return nil }
                        seq = value
                    case .ack:
                        guard let value = try reader.nonNegativeInteger() else { return nil }
                        ack = value
                    case .controlFlags:
                        guard let flags = try reader.nonNegativeInteger(), flags & ControlFlags.ack.rawValue != 0 else {
                            return nil
                        }
                    case .from:
                        guard let value = try reader.stringBytes(), Self.equal(value, serverID) else { return nil }
                    case .id, .to, .streamId:
                        guard let value = try reader.stringBytes(), UTF8Check.isASCII(value.bindMemory(to: UInt8.self))
                        else { return nil }
                    case .payload:
                        let start = reader.position
                        try reader.skipValue()
                        let payload = UnsafeRawBufferPointer(rebasing: raw[start..<reader.position])
                        guard Self.equal(payload, Self.heartbeatPayload) else { return nil }
                    case .serviceName, .procedureName, .tracing:
                        return nil
                    }
                }
            } catch {
                return nil
            }
            // Every key was a distinct envelope key other than the three optional ones: all
            // eight required fields are there.
            guard reader.isAtEnd, seq >= 0, ack >= 0 else { return nil }
            return (seq, ack)
        }
    }

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ expected: [UInt8]) -> Bool {
        guard bytes.count == expected.count else { return false }
        return expected.withUnsafeBytes { expected in
            guard let base = bytes.baseAddress, let other = expected.baseAddress else { return true }
            return memcmp(base, other, bytes.count) == 0
        }
    }
}

import Synchronization

extension SessionStateMachine {
    /// An outbound message encoded except for its seq and ack (see ``OutboundEncoder``).
    package struct PreparedMessage: Sendable {
        /// The bytes before the seq, with room for the rest (split-capable codecs).
        fileprivate var head: [UInt8]
        /// The bytes after the ack.
        fileprivate var tail: [UInt8]
        /// The whole message, for a codec that cannot encode in parts (encoded at send time).
        /// Boxed: a prepared message waits in the async frame of a call that waits for room
        /// (and that frame stays allocated for the call's life), so it is kept to two arrays
        /// and a reference.
        fileprivate var whole: WholeMessage?
        /// A head the send buffer keeps as it is (over ``SendBuffer/maximumBlockSize``; then
        /// `head` is empty): an array, or a block of the encoder's ``LargeMessagePool``. Handed
        /// over once: a call keeps its prepared open message for its whole life, and a second
        /// reference to the head would make the send buffer copy it (and keep both copies).
        fileprivate var large: LargeHead?
    }

    /// A large head, taken out exactly once.
    fileprivate final class LargeHead: Sendable {
        enum Bytes {
            /// The encoder's own array.
            case array([UInt8])
            /// The first `count` bytes of `chunk`, from `pool` (room for the rest after them).
            case chunk(SendBufferChunk, count: Int, pool: LargeMessagePool)
        }
        private let bytes: Mutex<Bytes?>
        init(_ bytes: consuming Bytes) { self.bytes = Mutex(bytes) }
        /// The head; `nil` once taken.
        func take() -> Bytes? { bytes.withLock { $0.take() } }
    }

    /// A message kept whole until its seq and ack are known.
    fileprivate final class WholeMessage: Sendable {
        let message: TransportMessage
        init(_ message: TransportMessage) { self.message = message }
    }

    /// Encodes one client's outbound messages as far as that is possible without the session:
    /// ids, names and the payload. Immutable, so a sender runs it before taking the lock the
    /// machine lives under, and the locked ``SessionStateMachine/send(_:now:jitter:into:)`` only
    /// appends the seq and ack.
    package struct OutboundEncoder: Sendable {
        private let codec: any RiverCodec
        private let split: (any SeqAckSplitEncoding)?
        /// The codec when it is msgpack, which encodes large heads into ``largeMessages``.
        private let messagePack: MessagePackCodec?
        /// The blocks large messages are encoded into (see ``LargeMessagePool``).
        let largeMessages = LargeMessagePool()
        private let clientID: String
        private let serverID: String
        /// The heartbeat echo encoded once (split codecs): ``appendHeartbeat(seq:ack:to:limit:)``.
        private let heartbeat: HeartbeatTemplate?

        /// An encoder for messages from `clientID` to `serverID` in `codec`.
        package init(codec: any RiverCodec, clientID: String, serverID: String) {
            self.codec = codec
            self.split = codec as? any SeqAckSplitEncoding
            self.messagePack = codec as? MessagePackCodec
            self.clientID = clientID
            self.serverID = serverID
            self.heartbeat = split.flatMap { HeartbeatTemplate(split: $0, clientID: clientID, serverID: serverID) }
        }

        /// The heartbeat a client answers every Ack-bit message with (passive heartbeating).
        static let heartbeatOutbound = Outbound(
            streamId: TransportMessage.heartbeatStreamID, controlFlags: .ack, payload: ControlPayload.ack.value)

        /// Gives `outbound` a message id and encodes what does not depend on the session.
        /// - Throws: ``SendError/encoding(_:)`` when the codec cannot encode it.
        package func prepare(_ outbound: Outbound) throws(SendError) -> PreparedMessage {
            let message = Self.message(outbound, id: RiverID.generate(), clientID: clientID, serverID: serverID)
            guard let split else { return PreparedMessage(head: [], tail: [], whole: WholeMessage(message)) }
            do throws(RiverCodecError) {
                let head: [UInt8]
                let tail: [UInt8]
                if let messagePack {
                    // A large head goes straight into a block of the pool.
                    var chunk: SendBufferChunk?
                    let encoded = try messagePack.encodeAroundSeqAck(message) { size in
                        guard size >= LargeMessagePool.smallestMessage, size <= LargeMessagePool.largestMessage else { return nil }
                        let taken = largeMessages.take(capacity: size)
                        chunk = taken
                        return taken.base
                    }
                    switch encoded.head {
                    case .stored(let count):
                        guard let chunk else { throw RiverCodecError("msgpack: a large head was stored nowhere") }
                        return PreparedMessage(
                            head: [], tail: encoded.tail, whole: nil,
                            large: LargeHead(.chunk(chunk, count: count, pool: largeMessages)))
                    case .bytes(let bytes):
                        (head, tail) = (bytes, encoded.tail)
                    }
                } else {
                    (head, tail) = try split.encodeAroundSeqAck(message)
                }
                if head.count > SendBuffer.maximumBlockSize {
                    return PreparedMessage(head: [], tail: tail, whole: nil, large: LargeHead(.array(head)))
                }
                return PreparedMessage(head: head, tail: tail, whole: nil)
            } catch {
                throw .encoding(error.message)
            }
        }

        /// `outbound` as a message with `id` from `clientID` to `serverID` (seq and ack 0).
        fileprivate static func message(_ outbound: Outbound, id: String, clientID: String, serverID: String) -> TransportMessage {
            TransportMessage(
                id: id, from: clientID, to: serverID, seq: 0, ack: 0, streamId: outbound.streamId,
                controlFlags: outbound.controlFlags, payload: outbound.payload,
                serviceName: outbound.serviceName, procedureName: outbound.procedureName, tracing: outbound.tracing)
        }

        /// Appends a heartbeat echo (``heartbeatOutbound``) with a fresh id, `seq` and `ack` to
        /// `buffer`: byte for byte what ``prepare(_:)`` and ``append(_:seq:ack:to:limit:)`` make
        /// of it, from bytes encoded once (no encoding and no allocation per heartbeat).
        /// - Returns: The bytes as they lie in the buffer.
        /// - Throws: As ``append(_:seq:ack:to:limit:)``.
        func appendHeartbeat(seq: Int, ack: Int, to buffer: inout SendBuffer, limit: Int) throws(SendError) -> RiverMessageBytes {
            try appendHeartbeat(id: RiverID.generate(), seq: seq, ack: ack, to: &buffer, limit: limit)
        }

        /// ``appendHeartbeat(seq:ack:to:limit:)`` with the message id `id` (tests compare it
        /// with the general encoding of the same message).
        func appendHeartbeat(id: String, seq: Int, ack: Int, to buffer: inout SendBuffer, limit: Int) throws(SendError) -> RiverMessageBytes {
            guard let heartbeat, split != nil, id.utf8.count == heartbeat.idLength else {
                // A codec without the split encoding (or an id of another length): the general path.
                let message = Self.message(Self.heartbeatOutbound, id: id, clientID: clientID, serverID: serverID)
                return try appendWhole(message, seq: seq, ack: ack, to: &buffer, limit: limit)
            }
            return try buffer.append(
                head: heartbeat.beforeID,
                middle: { bytes in
                    bytes.append(contentsOf: id.utf8)
                    bytes.append(contentsOf: heartbeat.afterID)
                    appendSeqAck(seq: seq, ack: ack, to: &bytes)
                },
                tail: heartbeat.tail, limit: limit)
        }

        /// The split codec's `seq` and `ack`: msgpack's called directly, as binding the
        /// existential copies it (a retain and release on every heartbeat echo).
        private func appendSeqAck(seq: Int, ack: Int, to bytes: inout [UInt8]) {
            if let messagePack {
                messagePack.appendSeqAck(seq: seq, ack: ack, to: &bytes)
            } else {
                split?.appendSeqAck(seq: seq, ack: ack, to: &bytes)
            }
        }

        /// Encodes `message` whole with `seq` and `ack` (a codec without the split encoding) and
        /// appends it to `buffer`.
        private func appendWhole(
            _ message: TransportMessage, seq: Int, ack: Int, to buffer: inout SendBuffer, limit: Int
        ) throws(SendError) -> RiverMessageBytes {
            var message = message
            message.seq = seq
            message.ack = ack
            let bytes: [UInt8]
            do {
                bytes = try codec.encode(message)
            } catch {
                throw .encoding(error.message)
            }
            return try buffer.append(head: bytes, middle: { _ in }, tail: [], limit: limit)
        }

        /// Appends the frame bytes of `prepared` with `seq` and `ack` to `buffer`.
        /// - Parameter limit: The largest message accepted.
        /// - Returns: The bytes as they lie in the buffer.
        /// - Throws: ``SendError/tooLarge(bytes:limit:)`` (nothing is appended then), or
        ///   ``SendError/encoding(_:)``.
        func append(
            _ prepared: consuming PreparedMessage, seq: Int, ack: Int, to buffer: inout SendBuffer, limit: Int
        ) throws(SendError) -> RiverMessageBytes {
            if let message = prepared.whole?.message {
                return try appendWhole(message, seq: seq, ack: ack, to: &buffer, limit: limit)
            }
            guard let split else { throw .encoding("the message was prepared for another codec") }
            // Taken out of `prepared`, so that a big message's array is not copied.
            var prepared = prepared
            var head: [UInt8] = []
            if let large = prepared.large {
                switch large.take() {
                case nil:
                    throw .encoding("the message was sent already")
                case .array(let taken):
                    head = taken
                case .chunk(let chunk, let count, let pool):
                    return try buffer.append(
                        chunk: chunk, count: count, pool: pool, middle: { split.appendSeqAck(seq: seq, ack: ack, to: &$0) },
                        tail: prepared.tail, limit: limit)
                }
            } else {
                swap(&head, &prepared.head)
            }
            return try buffer.append(
                head: head, middle: { split.appendSeqAck(seq: seq, ack: ack, to: &$0) }, tail: prepared.tail,
                limit: limit)
        }
    }

    /// The heartbeat echo of one client as a split codec encodes it, cut around the message
    /// id's characters and around the seq and ack: every echo differs from it only there.
    /// A class, so that the heartbeat path takes one reference to it, not one per array.
    fileprivate final class HeartbeatTemplate: Sendable {
        /// The bytes before the id's characters.
        let beforeID: [UInt8]
        /// The bytes from the end of the id's characters to the seq.
        let afterID: [UInt8]
        /// The bytes after the ack.
        let tail: [UInt8]
        /// The number of bytes of the id's characters (``RiverID/length``).
        let idLength: Int

        /// Encodes the heartbeat twice with two ids of ``RiverID/length`` characters that
        /// differ in each of them: the bytes where the two encodings differ are the id, which
        /// both codecs write verbatim (the alphabet needs no escaping) with a header that
        /// depends only on its length. `nil` when the codec cannot encode it or the encodings
        /// do not differ in exactly one run of that length (then every echo is encoded whole).
        init?(split: any SeqAckSplitEncoding, clientID: String, serverID: String) {
            let length = RiverID.length
            let ids = [String(repeating: "0", count: length), String(repeating: "1", count: length)]
            var heads: [[UInt8]] = []
            var tails: [[UInt8]] = []
            for id in ids {
                let message = OutboundEncoder.message(
                    OutboundEncoder.heartbeatOutbound, id: id, clientID: clientID, serverID: serverID)
                guard let (head, tail) = try? split.encodeAroundSeqAck(message) else { return nil }
                heads.append(head)
                tails.append(tail)
            }
            guard heads[0].count == heads[1].count, tails[0] == tails[1] else { return nil }
            let differing = heads[0].indices.filter { heads[0][$0] != heads[1][$0] }
            guard let first = differing.first, differing.count == length, differing.last == first + length - 1 else {
                return nil
            }
            beforeID = Array(heads[0][..<first])
            afterID = Array(heads[0][(first + length)...])
            tail = tails[0]
            idLength = length
        }
    }
}

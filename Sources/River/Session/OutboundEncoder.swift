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
        /// `head` is empty), handed
        /// over once: a call keeps its prepared open message for its whole life, and a second
        /// reference to the head would make the send buffer copy it (and keep both copies).
        fileprivate var large: LargeHead?
    }

    /// A large head, taken out exactly once.
    fileprivate final class LargeHead: Sendable {
        private let bytes: Mutex<[UInt8]?>
        init(_ bytes: consuming [UInt8]) { self.bytes = Mutex(bytes) }
        /// The head; `nil` once taken.
        func take() -> [UInt8]? { bytes.withLock { $0.take() } }
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
        private let clientID: String
        private let serverID: String

        /// An encoder for messages from `clientID` to `serverID` in `codec`.
        package init(codec: any RiverCodec, clientID: String, serverID: String) {
            self.codec = codec
            self.split = codec as? any SeqAckSplitEncoding
            self.clientID = clientID
            self.serverID = serverID
        }

        /// Gives `outbound` a message id and encodes what does not depend on the session.
        /// - Throws: ``SendError/encoding(_:)`` when the codec cannot encode it.
        package func prepare(_ outbound: Outbound) throws(SendError) -> PreparedMessage {
            let message = TransportMessage(
                id: RiverID.generate(), from: clientID, to: serverID, seq: 0, ack: 0, streamId: outbound.streamId,
                controlFlags: outbound.controlFlags, payload: outbound.payload,
                serviceName: outbound.serviceName, procedureName: outbound.procedureName, tracing: outbound.tracing)
            guard let split else { return PreparedMessage(head: [], tail: [], whole: WholeMessage(message)) }
            do {
                let (head, tail) = try split.encodeAroundSeqAck(message)
                if head.count > SendBuffer.maximumBlockSize {
                    return PreparedMessage(head: [], tail: tail, whole: nil, large: LargeHead(head))
                }
                return PreparedMessage(head: head, tail: tail, whole: nil)
            } catch {
                throw .encoding(error.message)
            }
        }

        /// Appends the frame bytes of `prepared` with `seq` and `ack` to `buffer`.
        /// - Parameter limit: The largest message accepted.
        /// - Returns: The bytes as they lie in the buffer.
        /// - Throws: ``SendError/tooLarge(bytes:limit:)`` (nothing is appended then), or
        ///   ``SendError/encoding(_:)``.
        func append(
            _ prepared: consuming PreparedMessage, seq: Int, ack: Int, to buffer: inout SendBuffer, limit: Int
        ) throws(SendError) -> RiverMessageBytes {
            if var message = prepared.whole?.message {
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
            guard let split else { throw .encoding("the message was prepared for another codec") }
            // Taken out of `prepared`, so that a big message's array is not copied.
            var prepared = prepared
            var head: [UInt8] = []
            if let large = prepared.large {
                guard let taken = large.take() else { throw .encoding("the message was sent already") }
                head = taken
            } else {
                swap(&head, &prepared.head)
            }
            return try buffer.append(
                head: head, middle: { split.appendSeqAck(seq: seq, ack: ack, to: &$0) }, tail: prepared.tail,
                limit: limit)
        }
    }
}

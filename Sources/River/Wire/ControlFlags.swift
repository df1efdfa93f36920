/// The bit set in a ``TransportMessage``'s `controlFlags` field.
public struct ControlFlags: OptionSet, Sendable, Hashable {
    /// The raw bits as they travel on the wire.
    public var rawValue: Int

    /// Creates flags from their wire value.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// An acknowledgement; on the `heartbeat` stream it is a heartbeat (1).
    public static let ack = ControlFlags(rawValue: 1)
    /// The first message of a stream (2).
    public static let streamOpen = ControlFlags(rawValue: 2)
    /// The stream is cancelled; the payload is an error result (4).
    public static let streamCancel = ControlFlags(rawValue: 4)
    /// The sender will send nothing more on this stream (8).
    public static let streamClosed = ControlFlags(rawValue: 8)
}

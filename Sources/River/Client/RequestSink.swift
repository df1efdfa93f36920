/// What a fake ``RequestWriter`` does with the requests of an upload or stream call.
///
/// A live writer sends to a server; a test's fake of a generated `ClientProtocol` hands the
/// code under test a writer over a sink of its own (``RequestWriter/init(_:)``) and checks
/// what it received. Only ``write(_:)`` is required; RiverTesting's `RecordingRequestSink`
/// is a ready-made one.
public protocol RequestSink<Input>: Sendable {
    /// The request type.
    associatedtype Input: Sendable

    /// Takes one request (``RequestWriter/write(_:)``); throw to fail the writer's call.
    func write(_ request: Input) async throws

    /// The request side closed (``RequestWriter/finish()``). Default: nothing.
    func finish() async throws

    /// The writer cancelled the call (``RequestWriter/cancel()``). Default: nothing.
    func cancel()

    /// Requests taken, and how many of them count as acknowledged
    /// (``RequestWriter/progress``). Default: none.
    var progress: (sent: Int, acknowledged: Int) { get }

    /// Waits until the fake call ends and says why (``RequestWriter/ended()``). Default:
    /// waits until the waiting task is cancelled, then returns `nil`, as a live call that
    /// never ends does.
    func ended() async -> RiverError?
}

extension RequestSink {
    /// Does nothing.
    public func finish() async throws {}

    /// Does nothing.
    public func cancel() {}

    /// No requests sent or acknowledged.
    public var progress: (sent: Int, acknowledged: Int) { (0, 0) }

    /// Returns `nil` once the waiting task is cancelled.
    public func ended() async -> RiverError? {
        // A stream that never yields nor finishes: its iteration ends when the task is cancelled.
        let (never, continuation) = AsyncStream<Never>.makeStream()
        for await _ in never {}
        withExtendedLifetime(continuation) {}
        return nil
    }
}

import River
import RiverTesting
import Testing

/// A server end scripted by the test: it accepts the handshake and captures the first
/// stream-open message, so tests see exactly what the client put on the wire.
enum ScriptedServer {
    /// The client's handshake request and first stream-open message, decoded and as sent.
    struct Frames {
        var handshake: TransportMessage
        var open: TransportMessage
        var handshakeBytes: [UInt8]
        var openBytes: [UInt8]
    }

    /// Runs `call` on a client made by `makeClient` against a scripted server end; returns
    /// the first two frames the client sent. The client is closed afterwards.
    static func firstFrames(
        codec: any RiverCodec,
        makeClient: (InMemoryConnector) -> RiverClient,
        call: @escaping @Sendable (RiverClient) async -> Void
    ) async throws -> Frames {
        let (serverEnds, accepted) = AsyncStream.makeStream(of: InMemoryConnection.self)
        let client = makeClient(InMemoryConnector { accepted.yield($0) })
        return try await withThrowingTaskGroup(of: Void.self, returning: Frames.self) { group in
            group.addTask { try await client.run() }
            group.addTask { await call(client) }
            defer { client.close() }
            var ends = serverEnds.makeAsyncIterator()
            let server = try #require(await ends.next())
            var frames = server.events.makeAsyncIterator()
            guard case .message(let hello)? = await frames.next() else { throw ScriptError("no handshake") }
            let handshake = try codec.decode(hello)
            guard case .handshakeRequest(let request)? = try ControlPayload.parse(handshake.payload) else {
                throw ScriptError("not a handshake")
            }
            let reply = TransportMessage(
                id: RiverID.generate(), from: "SERVER", to: handshake.from, seq: 0, ack: 0, streamId: RiverID.generate(),
                controlFlags: [], payload: ControlPayload.handshakeResponse(.ok(sessionId: request.sessionId)).value)
            server.send(try codec.encode(reply))
            guard case .message(let openBytes)? = await frames.next() else { throw ScriptError("no open message") }
            let open = try codec.decode(openBytes)
            let result = TransportMessage(
                id: RiverID.generate(), from: "SERVER", to: handshake.from, seq: 0, ack: 1, streamId: open.streamId,
                controlFlags: .streamClosed, payload: ResultEnvelope.ok(.object(["result": .double(1)])).value)
            server.send(try codec.encode(result))
            client.close()
            try await group.waitForAll()
            return Frames(handshake: handshake, open: open, handshakeBytes: hello, openBytes: openBytes)
        }
    }

    struct ScriptError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

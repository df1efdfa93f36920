import River
import RiverTesting
import RiverTestServer
import Testing

/// `events()` starts with the current state; every event reads well.
@Suite("Client events", .timeLimit(.minutes(1)))
struct ClientEventsTests {
    @Test("a new subscriber first gets the current session and connection state")
    func subscriberGetsTheCurrentState() async throws {
        try await withClient(ClientSetup.all[0]) { client, _ in
            var before = client.events().makeAsyncIterator()
            #expect(await before.next() == .connectionStatus(.disconnected(reason: "not connected")))
            _ = try await client.rpc(Reference.add, NumberInit(n: 1))
            let sessionID = try #require(client.transport.sessionID)
            var after = client.events().makeAsyncIterator()
            #expect(await after.next() == .sessionStatus(.created(sessionID: sessionID)))
            #expect(await after.next() == .connectionStatus(.connected(sessionID: sessionID)))
        }
    }

    @Test("every event has a readable description")
    func descriptions() {
        let events: [(RiverEvent, String)] = [
            (.connectionStatus(.connecting(attempt: 2)), "connecting (attempt 2)"),
            (.connectionStatus(.connected(sessionID: "s")), "connected (session s)"),
            (.connectionStatus(.disconnected(reason: "gone")), "disconnected: gone"),
            (.sessionStatus(.created(sessionID: "s")), "session s created"),
            (.sessionStatus(.resumed(sessionID: "s", replayed: 1)), "session s resumed on a new connection (1 buffered message replayed)"),
            (.sessionStatus(.destroyed(sessionID: "s", reason: "why")), "session s destroyed: why"),
            (
                .protocolError(ProtocolErrorEvent(kind: .handshakeFailed(code: .rejectedByCustomHandler), message: "no")),
                "protocol error: handshake failed (REJECTED_BY_CUSTOM_HANDLER): no"
            ),
            (.protocolError(ProtocolErrorEvent(kind: .invalidMessage, message: "bad")), "protocol error: invalid message: bad"),
        ]
        for (event, text) in events { #expect(event.description == text) }
    }
}

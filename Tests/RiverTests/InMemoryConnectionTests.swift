import Testing
@testable import River
import RiverTesting

@Suite("In-memory connection", .timeLimit(.minutes(1)))
struct InMemoryConnectionTests {
    @Test func messagesFlowBothWaysAndCloseReachesThePeer() async {
        let (client, server) = InMemoryConnection.makePair()
        client.send([1, 2, 3])
        server.send([4])
        var serverEvents = server.events.makeAsyncIterator()
        var clientEvents = client.events.makeAsyncIterator()
        guard case .message(let toServer)? = await serverEvents.next(), case .message(let toClient)? = await clientEvents.next() else {
            Issue.record("messages were not delivered")
            return
        }
        #expect(toServer == [1, 2, 3] && toClient == [4])
        client.close(code: 1000, reason: "bye")
        guard case .closed(let closure)? = await serverEvents.next() else {
            Issue.record("no close")
            return
        }
        #expect(closure.code == 1000 && closure.reason == "bye" && !closure.initiatedLocally)
    }

    @Test func anEndReleasedWithoutClosingDropsItsPeer() async {
        let client: InMemoryConnection
        do {
            let pair = InMemoryConnection.makePair()
            client = pair.client
            // The server end goes out of scope here, never closed.
        }
        var events = client.events.makeAsyncIterator()
        guard case .closed(let closure)? = await events.next() else {
            Issue.record("the surviving end saw no drop")
            return
        }
        #expect(closure.code == nil)
    }

    @Test func blackholeDeliversNothingButStaysOpen() async {
        let (client, server) = InMemoryConnection.makePair()
        client.blackhole()
        client.send([1])
        server.send([2])
        #expect(!client.isClosed && !server.isClosed)
        client.abort()
        var events = server.events.makeAsyncIterator()
        guard case .closed? = await events.next() else {
            Issue.record("the blackholed message was delivered")
            return
        }
    }
}

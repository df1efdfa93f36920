import RiverWebSocket
import Testing

/// The WebSocket connection's lifecycle as a value: every transition, with no socket.
/// (The waiter is a plain number standing in for a connect's continuation.)
@Suite("WebSocket connection state")
struct WebSocketConnectionStateTests {
    typealias State = WebSocketConnectionState<Int>

    /// The phase's name, for comparisons.
    static func name(_ state: State) -> String {
        switch state.phase {
        case .idle: "idle"
        case .connecting(let waiter): "connecting(\(waiter))"
        case .upgrading: "upgrading"
        case .open: "open"
        case .closing(let code, let reason): "closing(\(code), \(reason))"
        case .aborted(let wasOpen): "aborted(wasOpen: \(wasOpen))"
        case .finished(let wasOpen): "finished(wasOpen: \(wasOpen))"
        }
    }

    /// A client connection whose connect waits on `waiter`.
    static func connectingClient(_ waiter: Int) -> State {
        var state = State(isServer: false)
        let started = state.startConnecting(waiter)
        #expect(started)
        return state
    }

    /// A client connection that is open.
    static func openClient() -> State {
        var state = connectingClient(1)
        let opened = state.opened()
        #expect(opened.proceed == true && opened.waiter == 1)
        return state
    }

    @Test("client: idle → connecting → open → closing → finished, delivering .closed")
    func clientLife() {
        var state = State(isServer: false)
        #expect(Self.name(state) == "idle")
        #expect(!state.isOpen)
        let started = state.startConnecting(7)
        #expect(started)
        #expect(state.isConnecting)
        #expect(Self.name(state) == "connecting(7)")
        let opened = state.opened()
        #expect(opened.proceed && opened.waiter == 7)
        #expect(state.isOpen)
        #expect(state.writeEnd == .idle)
        let closeAccepted = state.requestClose(code: 1000, reason: "bye")
        #expect(closeAccepted)
        #expect(!state.isOpen, "no sends once a close was requested")
        #expect(state.writeEnd == .close(code: 1000, reason: "bye"))
        let closeAcceptedAgain = state.requestClose(code: 1001, reason: "again")
        #expect(!closeAcceptedAgain, "the first close wins")
        guard case .deliverClosed = state.finish() else { Issue.record("expected .deliverClosed"); return }
        #expect(state.isFinished)
        guard case .none = state.finish() else { Issue.record("finish is idempotent"); return }
    }

    @Test("server: upgrading → open; an abort during the upgrade refuses it")
    func serverLife() {
        var state = State(isServer: true)
        #expect(Self.name(state) == "upgrading")
        let started = state.startConnecting(1)
        #expect(!started, "a server connection never connects")
        let opened = state.opened()
        #expect(opened.proceed == true && opened.waiter == nil)
        #expect(state.isOpen)

        var refused = State(isServer: true)
        guard case .drop = refused.requestAbort() else { Issue.record("expected .drop"); return }
        let refusedOpened = refused.opened()
        #expect(refusedOpened.proceed == false && refusedOpened.waiter == nil)
        guard case .endSilently(nil) = refused.finish() else { Issue.record("never opened: no .closed"); return }
    }

    @Test("a connect that gives up while waiting drops the attempt and fails its waiter; a late open is refused")
    func giveUpWhileConnecting() {
        var state = Self.connectingClient(3)
        guard case .dropFailingConnect(3) = state.connectGaveUp() else { Issue.record("expected the waiter"); return }
        #expect(Self.name(state) == "aborted(wasOpen: false)")
        #expect(state.writeEnd == .drop)
        #expect(!state.isConnecting, "the connect command no longer runs")
        let opened = state.opened()
        #expect(opened.proceed == false && opened.waiter == nil)
        let failedConnect = state.connectFailed()
        #expect(failedConnect == nil, "the waiter was already failed")
        guard case .none = state.connectGaveUp() else { Issue.record("giving up twice does nothing"); return }
        guard case .endSilently(nil) = state.finish() else { Issue.record("expected a silent end"); return }
    }

    @Test("a connect that gives up before it starts fails as it starts")
    func giveUpBeforeStart() {
        var state = State(isServer: false)
        guard case .failBeforeStart = state.connectGaveUp() else { Issue.record("expected .failBeforeStart"); return }
        let started = state.startConnecting(1)
        #expect(!started)
        #expect(state.isFinished)
    }

    @Test("giving up after the connection opened changes nothing")
    func giveUpAfterOpen() {
        var state = Self.openClient()
        guard case .none = state.connectGaveUp() else { Issue.record("expected .none"); return }
        #expect(state.isOpen)
    }

    @Test("a connect that fails hands back its waiter once; the connection is finished, never opened")
    func connectFails() {
        var state = Self.connectingClient(9)
        let failedConnect = state.connectFailed()
        #expect(failedConnect == 9)
        let failedConnectAgain = state.connectFailed()
        #expect(failedConnectAgain == nil)
        #expect(Self.name(state) == "finished(wasOpen: false)")
        let opened = state.opened()
        #expect(opened.proceed == false && opened.waiter == nil)
    }

    @Test("an abort drops queued work first, also after a close request; only the first counts")
    func abort() {
        var state = Self.openClient()
        let closeAccepted = state.requestClose(code: 1000, reason: "")
        #expect(closeAccepted)
        guard case .drop = state.requestAbort() else { Issue.record("expected .drop"); return }
        #expect(state.writeEnd == .drop)
        #expect(!state.isOpen)
        let closeAcceptedAgain = state.requestClose(code: 1000, reason: "")
        #expect(!closeAcceptedAgain)
        guard case .none = state.requestAbort() else { Issue.record("expected .none"); return }
        guard case .deliverClosed = state.finish() else { Issue.record("it had opened: .closed is delivered"); return }
        guard case .none = state.requestAbort() else { Issue.record("nothing to abort once finished"); return }
    }

    @Test("an abort while connecting fails the waiting connect")
    func abortWhileConnecting() {
        var state = Self.connectingClient(4)
        guard case .dropFailingConnect(4) = state.requestAbort() else { Issue.record("expected the waiter"); return }
        #expect(Self.name(state) == "aborted(wasOpen: false)")
    }

    @Test("the socket ending while a connect waits fails that connect")
    func finishWhileConnecting() {
        var state = Self.connectingClient(5)
        guard case .endSilently(5) = state.finish() else { Issue.record("expected the waiter"); return }
        #expect(state.isFinished)
    }
}

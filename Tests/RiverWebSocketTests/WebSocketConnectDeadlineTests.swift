import River
@testable import RiverWebSocket
import Testing

/// The rule a connect follows when its task is cancelled: at or past its deadline it is a
/// timeout (a caller racing its own timer must not see `CancellationError`), before it a
/// cancellation. Checked deterministically on one connection, with the cancellation arriving
/// before the connect starts and no socket opened.
@Suite("WebSocket connect deadline")
struct WebSocketConnectDeadlineTests {
    /// A connect attempt to a port nothing is asked of (the attempt never starts).
    static let request = LWSClientRequest(
        address: "127.0.0.1", port: 9, path: "/", hostHeader: "127.0.0.1", serverName: "127.0.0.1", tls: false, allowInsecure: false,
        tlsFiles: .init(), endpoint: "ws://127.0.0.1:9/")

    /// What a connect with `timeout` throws when its task was cancelled before it began.
    static func errorOfCancelledConnect(timeout: Duration) async -> (any Error)? {
        let connection = WebSocketConnection(
            role: .client, maximumMessageSize: 1 << 20, logger: WebSocketConnector.Configuration.defaults.logger,
            upgradeHeaders: [])
        return await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                withUnsafeCurrentTask { $0?.cancel() }
                do {
                    try await connection.connect(request, timeout: timeout)
                    return nil
                } catch {
                    return error
                }
            }
            return await group.next() ?? nil
        }
    }

    @Test("cancelled with its deadline already passed (a zero timeout), a connect reports timedOut")
    func cancelledAtTheDeadline() async {
        let error = await Self.errorOfCancelledConnect(timeout: .zero)
        #expect((error as? RiverConnectError)?.kind == .timedOut, "\(String(describing: error))")
    }

    @Test("cancelled well before its deadline, a connect reports CancellationError")
    func cancelledBeforeTheDeadline() async {
        let error = await Self.errorOfCancelledConnect(timeout: .seconds(60))
        #expect(error is CancellationError, "\(String(describing: error))")
    }
}

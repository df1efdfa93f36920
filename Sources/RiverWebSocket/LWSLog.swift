import CLibWebSockets
import Logging
import Synchronization

/// Routes libwebsockets' own log to swift-log.
///
/// lws' log is process-wide: the lines go to the logger of the most recently used
/// ``WebSocketConnector/Configuration`` or ``WebSocketListener/Configuration``, errors and
/// warnings at `debug`, the rest at `trace`. Nothing reads these lines back: a failing
/// connection takes its error from its own status (see ``LWSConnectFailure``), since under
/// concurrency a line may belong to any connection.
enum LWSLog {
    private static let logger = Mutex<Logger?>(nil)

    /// Installs the emit function (once, when the runtime starts).
    static func install() {
        lws_set_log_level(river_lws_log_levels(0), riverLWSEmit)
    }

    /// Sets the logger lws lines go to.
    static func use(_ logger: Logger) {
        self.logger.withLock { $0 = logger }
    }

    fileprivate static func emit(level: Int32, line: String) {
        guard let logger = logger.withLock({ $0 }) else { return }
        let isProblem = (level & (river_lws_level_err() | river_lws_level_warn())) != 0
        logger.log(level: isProblem ? .debug : .trace, "\(line.trimmingSuffixWhitespace())", metadata: ["lws.level": "\(level)"])
    }
}

private func riverLWSEmit(_ level: Int32, _ line: UnsafePointer<CChar>?) {
    guard let line else { return }
    LWSLog.emit(level: level, line: String(cString: line))
}

extension String {
    fileprivate func trimmingSuffixWhitespace() -> String {
        var view = Substring(self)
        while let last = view.last, last.isWhitespace { view.removeLast() }
        // lws prefixes lines with a timestamp and level tag ("[2026/..] E: "); keep it short.
        if let range = view.firstRange(of: "] ") { view = view[range.upperBound...] }
        return String(view)
    }
}

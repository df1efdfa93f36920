import CLibWebSockets
import Foundation
import Logging
import Synchronization

/// Routes libwebsockets' own log to swift-log and remembers recent problem lines.
///
/// lws reports TLS and connect failures to its callbacks as opaque strings ("SSL err 1"); the
/// real reason (for example "certificate verify failed") only appears in its log. So every lws
/// log line is kept for a moment in a small ring, numbered, and a failing connection attempt
/// reads the error and warning lines logged since it started. The ring is process-wide, so under
/// heavy concurrency a message may mention another connection's problem; the kind of the
/// error is still derived from this connection's own callback.
///
/// lws' log is process-wide: the lines go to the logger of the most recently used
/// ``WebSocketConnector/Configuration`` or ``WebSocketListener/Configuration``, errors and
/// warnings at `debug`, the rest at `trace`.
enum LWSLog {
    private struct State {
        var logger: Logger?
        var lines: [(sequence: Int, level: Int32, text: String)] = []
        var sequence = 0
    }

    private static let state = Mutex(State())
    private static let ringSize = 64

    /// Installs the emit function (once, when the runtime starts).
    static func install() {
        lws_set_log_level(river_lws_log_levels(0), riverLWSEmit)
    }

    /// Sets the logger lws lines go to.
    static func use(_ logger: Logger) {
        state.withLock { $0.logger = logger }
    }

    /// The current position in the log, to pass to ``recentProblems(since:)`` later.
    static func mark() -> Int {
        state.withLock { $0.sequence }
    }

    /// Error and warning lines logged after `mark`, joined, or `nil` when there were none.
    static func recentProblems(since mark: Int) -> String? {
        let lines = state.withLock { state in
            state.lines.filter {
                $0.sequence > mark && ($0.level & (river_lws_level_err() | river_lws_level_warn())) != 0
            }.map(\.text)
        }
        return lines.isEmpty ? nil : lines.suffix(4).joined(separator: "; ")
    }

    fileprivate static func emit(level: Int32, line: String) {
        let text = line.trimmingSuffixWhitespace()
        let logger = state.withLock { state -> Logger? in
            state.sequence += 1
            state.lines.append((state.sequence, level, text))
            if state.lines.count > ringSize { state.lines.removeFirst(state.lines.count - ringSize) }
            return state.logger
        }
        guard let logger else { return }
        let isProblem = (level & (river_lws_level_err() | river_lws_level_warn())) != 0
        logger.log(level: isProblem ? .debug : .trace, "\(text)", metadata: ["lws.level": "\(level)"])
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
        if let range = view.range(of: "] ") { view = view[range.upperBound...] }
        return String(view)
    }
}

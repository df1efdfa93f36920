import CoreMetrics
import Synchronization

/// A metrics backend for the console: it keeps every counter, gauge and timer in memory and
/// prints them, sorted, on ``printSummary(write:)``. Good enough to see what River reports;
/// use swift-prometheus or swift-otel to export metrics.
final class ConsoleMetrics: MetricsFactory {
    /// One metric's current value.
    private final class Handler: CounterHandler, RecorderHandler, TimerHandler, MeterHandler {
        private struct Value {
            var total: Int64 = 0
            var last: Double?
            var count = 0
            var sumNanoseconds: Int64 = 0
        }

        private let value = Mutex(Value())

        func increment(by amount: Int64) { value.withLock { $0.total += amount } }
        func reset() { value.withLock { $0 = Value() } }
        func record(_ value: Int64) { record(Double(value)) }
        func record(_ value: Double) { self.value.withLock { $0.last = value } }
        func set(_ value: Int64) { record(Double(value)) }
        func set(_ value: Double) { record(value) }
        func increment(by amount: Double) { value.withLock { $0.last = ($0.last ?? 0) + amount } }
        func decrement(by amount: Double) { value.withLock { $0.last = ($0.last ?? 0) - amount } }
        func recordNanoseconds(_ duration: Int64) {
            value.withLock {
                $0.count += 1
                $0.sumNanoseconds += duration
            }
        }

        /// `total=…`, `value=…` or `count=… mean=… µs`, whichever applies.
        var summary: String {
            value.withLock { value in
                if value.count > 0 { return "count=\(value.count) mean=\(value.sumNanoseconds / Int64(value.count) / 1000) µs" }
                if let last = value.last { return "value=\(last)" }
                return "total=\(value.total)"
            }
        }
    }

    private let handlers = Mutex<[String: Handler]>([:])

    private func handler(_ label: String, _ dimensions: [(String, String)]) -> Handler {
        let key = label + (dimensions.isEmpty ? "" : " {" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ", ") + "}")
        return handlers.withLock { handlers in
            if let existing = handlers[key] { return existing }
            let created = Handler()
            handlers[key] = created
            return created
        }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { handler(label, dimensions) }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { handler(label, dimensions) }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { handler(label, dimensions) }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { handler(label, dimensions) }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    /// Prints every metric, one line each, sorted by name.
    func printSummary(write: (String) -> Void = { print($0) }) {
        let all = handlers.withLock { $0 }
        for (key, handler) in all.sorted(by: { $0.key < $1.key }) {
            write("metric \(key) \(handler.summary)")
        }
    }
}

import River
import Testing

/// Waits for the first event `matches` accepts.
func waitFor(_ events: AsyncStream<RiverEvent>, _ matches: (RiverEvent) -> Bool) async throws {
    for await event in events where matches(event) { return }
    Issue.record("the events ended first")
}

/// Waits until `condition` holds, checking every few milliseconds; fails after `timeout`.
func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now >= deadline {
            Issue.record("timed out waiting for \(what)")
            throw RiverError(code: .deadlineExceeded, message: "timed out waiting for \(what)")
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

import River

/// Upload progress on stderr (a terminal): requests sent and acknowledged, and the rate,
/// redrawn in place a few times a second.
enum UploadProgress {
    /// Redraws the progress line until the task is cancelled, then prints the final line.
    /// - Parameter writer: The upload's writer (its ``RequestWriter/progress``).
    static func report(_ writer: RequestWriter<RiverValue>) async {
        let clock = ContinuousClock()
        let start = clock.now
        while !Task.isCancelled {
            draw(writer.progress, elapsed: clock.now - start, final: false)
            try? await Task.sleep(for: .milliseconds(200))
        }
        draw(writer.progress, elapsed: clock.now - start, final: true)
    }

    private static func draw(_ progress: (sent: Int, acknowledged: Int), elapsed: Duration, final: Bool) {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(progress.sent) / seconds : 0
        let line = "sent \(progress.sent), acknowledged \(progress.acknowledged), \(Int(rate.rounded())) msg/s"
        Console.errorRaw("\r\u{1B}[2K" + line + (final ? "\n" : ""))
    }
}

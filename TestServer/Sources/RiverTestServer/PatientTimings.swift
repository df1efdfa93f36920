public import River

extension RiverTestServer.Timings {
    /// Timings for live tests that are not about timing: the reference heartbeat interval (acks
    /// ride on heartbeats), but a watchdog, handshake timeout and grace period that hold when
    /// `swift test` runs a whole suite in parallel on a loaded 2-core machine and timers fire
    /// seconds late. Tests about timing set their own (or use a manual clock).
    public static let patient = RiverTestServer.Timings(
        heartbeatInterval: .seconds(1), heartbeatsUntilDead: 30,
        sessionDisconnectGrace: .seconds(60), handshakeTimeout: .seconds(30))
}

extension RiverClient.Configuration {
    /// The client side of ``RiverTestServer/Timings/patient``: the client's watchdog, connect
    /// and handshake timeouts and grace period hold through seconds of starvation.
    public mutating func makePatient() {
        session.heartbeatsUntilDead = 30
        session.connectionTimeout = .seconds(30)
        session.handshakeTimeout = .seconds(30)
        session.sessionDisconnectGrace = .seconds(60)
    }

    /// This configuration made patient (``makePatient()``).
    public func patient() -> Self {
        var configuration = self
        configuration.makePatient()
        return configuration
    }
}

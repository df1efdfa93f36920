/// A point on the continuous clock, stored as its offset from a fixed origin.
///
/// `ContinuousClock.Instant` is resilient (not frozen), so a struct that stores one is
/// address-only outside the standard library: every copy and every field read goes through
/// value witnesses. `Duration` is frozen, so a struct storing this instead stays loadable.
struct StoredInstant: Hashable, Sendable {
    /// Any fixed instant works; offsets from it are exact.
    private static let origin = ContinuousClock.now

    private var offset: Duration

    init(_ instant: ContinuousClock.Instant) {
        offset = Self.origin.duration(to: instant)
    }

    /// The instant.
    var instant: ContinuousClock.Instant { Self.origin.advanced(by: offset) }
}

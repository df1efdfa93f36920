/// A strong reference that its owner drops when a scope ends: what a callback that may outlive
/// the scope (a timer's wake-up, a connect timeout) captures instead of a `weak` reference.
///
/// The first weak reference to an object gives it a side table, and from then on every retain
/// and release of that object goes through the Swift runtime's slow path. The transport and
/// the WebSocket connection are retained and released several times per call, so neither is
/// ever referenced weakly. A callback that fires after ``clear()`` finds `nil`, as it would
/// have found a weak reference to a freed object; until then the object stays alive, which is
/// why the scope that makes one must clear it on every way out (`defer`).
package final class ScopedReference<Object: AnyObject & Sendable>: Sendable {
    private let storage: AdaptiveMutex<Object?>

    /// A reference to `object` until ``clear()``.
    package init(_ object: Object) { storage = AdaptiveMutex(object) }

    /// The object, or `nil` once cleared.
    package var object: Object? { storage.withLock { $0 } }

    /// Drops the reference.
    package func clear() { storage.withLock { $0 = nil } }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

#if canImport(Glibc)
private let rusageSelf = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
private let rusageSelf = RUSAGE_SELF
#endif

/// Monotonic time in nanoseconds.
@inline(__always)
func nowNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}

/// User + system CPU time of this process, in microseconds (getrusage RUSAGE_SELF).
func processCPUMicroseconds() -> Double {
    var usage = rusage()
    getrusage(rusageSelf, &usage)
    let user = Double(usage.ru_utime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec)
    let system = Double(usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_stime.tv_usec)
    return user + system
}

/// Peak resident set size of this process, in bytes (ru_maxrss is KiB on Linux, bytes on macOS).
func peakRSSBytes() -> Double {
    var usage = rusage()
    getrusage(rusageSelf, &usage)
    #if canImport(Darwin)
    return Double(usage.ru_maxrss)
    #else
    return Double(usage.ru_maxrss) * 1024
    #endif
}

/// Latency samples in nanoseconds, summarised in microseconds.
struct Latencies {
    private(set) var sorted: [UInt64]

    init(_ samples: [UInt64]) {
        sorted = samples.sorted()
    }

    var count: Int { sorted.count }

    /// Nearest-rank percentile (`p` in 0...1), in microseconds.
    func percentile(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
        return Double(sorted[min(max(rank, 0), sorted.count - 1)]) / 1000
    }

    /// Mean, in microseconds.
    var mean: Double {
        guard !sorted.isEmpty else { return 0 }
        var total: Double = 0
        for sample in sorted { total += Double(sample) }
        return total / Double(sorted.count) / 1000
    }
}

/// The median of `values` (the mean of the two middle ones for an even count).
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Counts arrivals (echoes, subscription results, finished tasks) and lets one waiter wait until
/// enough have come.
final class ArrivalGate: Sendable {
    private struct State {
        var received = 0
        var lastReceived: UInt64 = 0
        var ended = false
        var waiter: (threshold: Int, continuation: CheckedContinuation<Void, Never>)?
    }

    private let state = Mutex(State())

    /// One arrival.
    func receivedOne() {
        let now = nowNanos()
        let ready = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.received += 1
            state.lastReceived = now
            guard let waiter = state.waiter, state.received >= waiter.threshold else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        ready?.resume()
    }

    /// Nothing more will arrive: release any waiter.
    func end() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.ended = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume()
    }

    /// Arrivals so far, and when the last one came.
    var received: (count: Int, last: UInt64) { state.withLock { ($0.received, $0.lastReceived) } }

    /// Returns once `threshold` arrivals have come (or ``end()`` was called).
    func wait(untilReceived threshold: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.received >= threshold || state.ended { return true }
                state.waiter = (threshold, continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }
}

/// A fixed-size log-linear latency histogram (128 sub-buckets per power of two: < 0.8% error),
/// so long duration-bound runs keep constant memory.
struct Histogram {
    private static let subBits = 7
    private static let subMask = (1 << subBits) - 1
    private var counts = [UInt32](repeating: 0, count: 64 << subBits)
    private(set) var count = 0
    private var sumNanos: Double = 0

    private static func index(_ value: UInt64) -> Int {
        if value < UInt64(1 << subBits) { return Int(value) }
        let msb = 63 - value.leadingZeroBitCount
        let shift = msb - subBits
        let sub = Int(truncatingIfNeeded: value >> UInt64(shift)) & subMask
        return ((shift + 1) << subBits) + sub
    }

    /// The middle of bucket `index`, in nanoseconds.
    private static func value(_ index: Int) -> Double {
        let octave = index >> subBits
        let sub = index & subMask
        if octave == 0 { return Double(sub) }
        let shift = octave - 1
        let low = Double((1 << subBits) | sub) * Double(UInt64(1) << UInt64(shift))
        return low + Double(UInt64(1) << UInt64(shift)) / 2
    }

    mutating func record(_ nanos: UInt64) {
        counts[Self.index(nanos)] &+= 1
        count += 1
        sumNanos += Double(nanos)
    }

    mutating func merge(_ other: Histogram) {
        for i in counts.indices { counts[i] &+= other.counts[i] }
        count += other.count
        sumNanos += other.sumNanos
    }

    /// Nearest-rank percentile (`p` in 0...1), in microseconds.
    func percentile(_ p: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = max(1, Int((p * Double(count)).rounded(.up)))
        var seen = 0
        for (index, bucket) in counts.enumerated() where bucket > 0 {
            seen += Int(bucket)
            if seen >= rank { return Self.value(index) / 1000 }
        }
        return 0
    }

    /// Mean, in microseconds.
    var mean: Double { count > 0 ? sumNanos / Double(count) / 1000 : 0 }
}

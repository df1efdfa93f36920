import Synchronization

/// River's identifiers: 12 characters from a 60-character alphabet (no `w` or `W`).
public enum RiverID {
    /// The alphabet the reference implementation draws ids from.
    public static let alphabet: [UInt8] = Array("1234567890abcdefghijklmnopqrstuvxyzABCDEFGHIJKLMNOPQRSTUVXYZ".utf8)

    /// The length of every generated id.
    public static let length = 12

    /// A process-wide SplitMix64 counter, seeded once from the system source. Ids must be
    /// unique, not secret: a system draw per id (a `getrandom` syscall) cost several percent of
    /// an rpc's CPU time.
    private static let counter = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    /// A fresh random id (message ids, stream ids, the handshake's stream id).
    public static func generate() -> String {
        // SplitMix64 outputs of distinct counter values are distinct, so two consecutive draws
        // give 128 bits of which the id keeps about 71.
        let first = counter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        let second = counter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        var high = SplitMix64.mix(first)
        var low = SplitMix64.mix(second)
        let count = UInt64(alphabet.count)
        // 12 bytes fit Swift's inline small-string storage: no allocation.
        return String(unsafeUninitializedCapacity: length) { buffer in
            for i in 0..<length {
                // Six characters from each 64-bit draw, taking the high part of a widening
                // multiply each time (each step leaves the low 64 bits as fresh entropy).
                let (digit, rest) = i < 6 ? high.multipliedFullWidth(by: count) : low.multipliedFullWidth(by: count)
                if i < 6 { high = rest } else { low = rest }
                buffer[i] = alphabet[Int(digit)]
            }
            return length
        }
    }

    /// A random id drawn from `generator` (seed it for reproducible tests).
    public static func generate(using generator: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8](repeating: 0, count: length)
        for i in 0..<length {
            bytes[i] = alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A fresh session id: `session-` followed by an id.
    public static func generateSessionID() -> String {
        "session-" + generate()
    }
}

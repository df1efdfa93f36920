/// River's identifiers: 12 characters from a 60-character alphabet (no `w` or `W`).
public enum RiverID {
    /// The alphabet the reference implementation draws ids from.
    public static let alphabet: [UInt8] = Array("1234567890abcdefghijklmnopqrstuvxyzABCDEFGHIJKLMNOPQRSTUVXYZ".utf8)

    /// The length of every generated id.
    public static let length = 12

    /// A fresh random id (message ids, stream ids, the handshake's stream id).
    public static func generate() -> String {
        // One system random draw seeds a fast generator for the 12 characters (ids must be
        // unique, not secret; drawing each character from the system source costs a syscall
        // per character).
        var rng = SplitMix64(seed: UInt64.random(in: .min ... .max))
        return generate(using: &rng)
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
        // Seeded from the system source like `generate()`. (Passing the zero-sized
        // `SystemRandomNumberGenerator` inout here crashes ThreadSanitizer in Swift 6.3.1.)
        "session-" + generate()
    }
}

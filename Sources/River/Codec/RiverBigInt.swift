/// An integer of any size, kept as its decimal text: a JavaScript `BigInt` on the wire.
///
/// With ``RiverValueEncoder``/``RiverValueDecoder`` it bridges to ``RiverValue/bigInt(_:)``
/// (`{"$b": "<decimal>"}` in JSON, msgpack extension 0). With other coders it encodes as
/// its decimal string and decodes from a decimal string or an integer.
public struct RiverBigInt: Codable, Sendable, Hashable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The value in decimal: `-?[0-9]+`.
    public let decimal: String

    /// Creates a big integer from decimal text.
    /// - Parameter decimal: Text of the form `-?[0-9]+`.
    /// - Returns: `nil` when `decimal` is not a decimal integer.
    public init?(_ decimal: String) {
        guard BigIntText.isDecimal(decimal) else { return nil }
        self.decimal = decimal
    }

    /// Creates a big integer from a fixed-width integer.
    /// - Parameter value: Any binary integer.
    public init(_ value: some BinaryInteger) {
        self.decimal = String(value)
    }

    /// Creates a big integer from an integer literal.
    public init(integerLiteral value: Int64) {
        self.decimal = String(value)
    }

    /// The value as an `Int64` when it fits, else `nil`.
    public var int64Value: Int64? { Int64(decimal) }

    /// The decimal text.
    public var description: String { decimal }

    /// Decodes from a decimal string or an integer (and, through ``RiverValueDecoder``, from
    /// ``RiverValue/bigInt(_:)``).
    /// - Throws: `DecodingError` when the value is neither.
    public init(from decoder: any Decoder) throws {
        if let bridge = decoder as? RiverValueDecoderImpl {
            self = try RiverValueUnboxer.bigInt(bridge.value, path: bridge.codingPath)
            return
        }
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = RiverBigInt(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a decimal integer")
            }
            self = value
        } else {
            self = RiverBigInt(try container.decode(Int64.self))
        }
    }

    /// Encodes as its decimal string (as ``RiverValue/bigInt(_:)`` through ``RiverValueEncoder``).
    /// - Throws: Whatever the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(decimal)
    }
}

import River

/// JSON text ↔ ``RiverValue`` with River's conventions (``JSONCodec``'s value helpers): bytes
/// as `{"$t": "<base64>"}`, big integers as `{"$b": "<decimal>"}`, integers kept apart from
/// doubles.
enum JSONText {
    /// Parses one JSON value.
    /// - Parameters:
    ///   - text: The JSON text.
    ///   - what: What the text is, for the error message (`init`, `request 3`).
    /// - Returns: The value.
    /// - Throws: ``CLIError`` (invalid input) naming `what` and the problem.
    static func parse(_ text: String, what: String) throws(CLIError) -> RiverValue {
        do {
            return try JSONCodec().decodeValue(Array(text.utf8))
        } catch {
            throw CLIError(.invalidInput, "\(what): invalid JSON: \(error.message)")
        }
    }

    /// Renders a value as one line of JSON (keys sorted).
    /// - Parameter value: The value.
    /// - Returns: The JSON text; a value JSON cannot hold (NaN, infinity) is rendered as
    ///   `null` there, as `JSON.stringify` does.
    static func render(_ value: RiverValue) -> String {
        if let bytes = try? JSONCodec().encodeValue(value) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return String(decoding: (try? JSONCodec().encodeValue(sanitized(value))) ?? Array("null".utf8), as: UTF8.self)
    }

    /// Replaces non-finite doubles by `null`.
    private static func sanitized(_ value: RiverValue) -> RiverValue {
        switch value {
        case .double(let d) where !d.isFinite: .null
        case .array(let elements): .array(elements.map(sanitized))
        case .object(let fields): .object(fields.mapValues(sanitized))
        default: value
        }
    }
}

public import River

/// Shared checks of the fuzz targets. Each one must never trap on any input except where an
/// invariant is broken (then it traps on purpose, so libFuzzer reports the input).
public enum FuzzChecks {
    /// Decodes `bytes` with `codec`; on success the message must re-encode into bytes that
    /// decode again, and its payload goes through ``exerciseValueDecoder(_:)``.
    public static func codecRoundTrip(_ bytes: [UInt8], codec: any RiverCodec) {
        if let message = try? codec.decode(bytes) {
            exercise(message)
            if let encoded = try? codec.encode(message) {
                // What the encoder writes, the decoder must read.
                guard (try? codec.decode(encoded)) != nil else {
                    fatalError("\(codec.name): re-encoded message does not decode: \(message)")
                }
            }
        }
        if let value = try? codec.decodeValueIfSupported(bytes) {
            exerciseValueDecoder(value)
        }
    }

    /// Parses everything a client parses out of an inbound message.
    public static func exercise(_ message: TransportMessage) {
        _ = try? ControlPayload.parse(message.payload)
        _ = try? ResultEnvelope(parsing: message.payload)
        exerciseValueDecoder(message.payload)
    }

    /// Decodes `value` into a spread of `Decodable` shapes (errors are fine, traps are not).
    public static func exerciseValueDecoder(_ value: RiverValue) {
        let decoder = RiverValueDecoder()
        _ = try? decoder.decode(Shape.self, from: value)
        _ = try? decoder.decode([String: RiverValue].self, from: value)
        _ = try? decoder.decode([Shape].self, from: value)
        _ = try? decoder.decode(Int8.self, from: value)
        _ = try? decoder.decode(UInt64.self, from: value)
        _ = try? decoder.decode(Int.self, from: value)
        _ = try? decoder.decode(Float.self, from: value)
        _ = try? decoder.decode(RiverBigInt.self, from: value)
        _ = try? decoder.decode(Recursive.self, from: value)
        if case .object(let fields) = value, let payload = fields["payload"] {
            _ = try? decoder.decode(Shape.self, from: payload)
            _ = try? decoder.decode([String: Int32].self, from: payload)
        }
    }

    struct Shape: Decodable {
        enum Kind: String, Decodable { case a, b, c }
        var n: Double?
        var i: Int?
        var u: UInt16?
        var s: String?
        var b: Bool?
        var list: [Int]?
        var nested: [String: [Double]]?
        var kind: Kind?
        var big: RiverBigInt?
        var value: RiverValue?
        var msg: String?
        var ok: Bool?
        var payload: RiverValue?
    }

    final class Recursive: Decodable {
        var child: Recursive?
        var children: [Recursive]?
    }
}

extension RiverCodec {
    /// The codec's `decodeValue`, for the codecs that have one.
    func decodeValueIfSupported(_ bytes: [UInt8]) throws -> RiverValue? {
        if let json = self as? JSONCodec { return try json.decodeValue(bytes) }
        if let msgpack = self as? MessagePackCodec { return try msgpack.decodeValue(bytes) }
        return nil
    }
}

/// The fuzzer's input as bytes.
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// libFuzzer's driver (in `libclang_rt.fuzzer`). SwiftPM links an executable target's entry
/// point as `<Module>_main` and aliases `main` to it, so libFuzzer's own `main` is not used:
/// each target defines `<Module>_main` and calls ``runLibFuzzer(_:_:_:)``.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// Runs libFuzzer with the process arguments and `callback` as the fuzz target.
public func runLibFuzzer(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}

import FuzzSupport
import River

/// libFuzzer entry: JSONCodec.decode (and decodeValue, RiverValueDecoder) on arbitrary bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONCodec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzChecks.codecRoundTrip(fuzzInput(data, size), codec: JSONCodec())
    return 0
}

/// The entry point SwiftPM links `main` to: hands over to libFuzzer's driver.
@_cdecl("FuzzJSONCodec_main")
public func FuzzJSONCodecMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runLibFuzzer(argc, argv, { data, size in fuzzJSONCodec(data, size) })
}

import FuzzSupport
import River

/// libFuzzer entry: MessagePackCodec.decode (and decodeValue, RiverValueDecoder) on arbitrary bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessagePackCodec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzChecks.codecRoundTrip(fuzzInput(data, size), codec: MessagePackCodec())
    return 0
}

/// The entry point SwiftPM links `main` to: hands over to libFuzzer's driver.
@_cdecl("FuzzMessagePackCodec_main")
public func FuzzMessagePackCodecMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runLibFuzzer(argc, argv, { data, size in fuzzMessagePackCodec(data, size) })
}

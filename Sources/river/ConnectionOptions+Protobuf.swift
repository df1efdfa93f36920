import River
import RiverProtobuf

extension ConnectionOptions {
    /// The wire codec: ProtoCodec with `--protoset` (protobuf services speak nothing else),
    /// else `--codec`.
    var wireCodec: any RiverCodec { protoset != nil ? ProtoCodec() : codec.codec }
}

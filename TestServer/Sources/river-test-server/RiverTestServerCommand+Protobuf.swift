import River
import RiverProtobuf
import RiverTestServer

extension RiverTestServerCommand {
    /// `--proto`: ProtoCodec and the protobuf mode (with handshake validation under `--handshake`).
    var protobufSetup: (any RiverCodec, RiverTestServer.Mode) {
        (ProtoCodec(), handshake ? .protobufHandshake : .protobuf)
    }
}

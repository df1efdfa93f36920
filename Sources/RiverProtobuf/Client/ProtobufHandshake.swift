public import River
public import SwiftProtobuf

/// Handshake metadata for protobuf servers: a protobuf message, sent as its bytes (River's
/// `createClientHandshakeOptions(schema, construct)` of `@replit/river/protobuf`).
public enum ProtobufHandshake {
    /// A ``RiverClient/Configuration/handshakeMetadata`` function that sends the message
    /// `construct` builds (re-run on every connection attempt and rehandshake).
    /// - Parameter construct: Builds the metadata message (it may fetch a token).
    /// - Returns: The function to put in the client's configuration.
    public static func metadata<M: SwiftProtobuf.Message>(
        _ construct: @escaping @Sendable () async throws -> M
    ) -> @Sendable () async throws -> RiverValue? {
        { .bytes(try await construct().serializedBytes()) }
    }
}

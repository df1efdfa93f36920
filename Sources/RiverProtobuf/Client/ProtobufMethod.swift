public import River
public import SwiftProtobuf

/// The four kinds of protobuf method, and the River procedure kind each travels as. A closed set.
@frozen
public enum ProtobufMethodKind: String, Sendable, Hashable, CaseIterable {
    /// `rpc M(Req) returns (Res)`: River rpc.
    case unary
    /// `rpc M(Req) returns (stream Res)`: River subscription.
    case serverStreaming
    /// `rpc M(stream Req) returns (Res)`: River upload.
    case clientStreaming
    /// `rpc M(stream Req) returns (stream Res)`: River stream.
    case bidiStreaming

    /// The River procedure kind on the wire.
    public var procedureKind: ProcedureKind {
        switch self {
        case .unary: .rpc
        case .serverStreaming: .subscription
        case .clientStreaming: .upload
        case .bidiStreaming: .stream
        }
    }
}

/// A unary protobuf method: one `Input` in, one `Output` out.
///
/// Method descriptors name a method and its message types; generated code declares one per
/// method (`protoc-gen-river-swift`), and the kind is part of the type.
public struct ProtobufUnaryMethod<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>: Sendable, Hashable {
    /// The service's full protobuf name (`river.test.TestService`), River's service name.
    public var serviceName: String
    /// The method's name as written in the .proto (`Echo`), River's procedure name.
    public var methodName: String
    /// Creates a descriptor.
    public init(service serviceName: String, method methodName: String) {
        self.serviceName = serviceName
        self.methodName = methodName
    }
}

/// A server-streaming protobuf method: one `Input` in, a sequence of `Output` out.
public struct ProtobufServerStreamingMethod<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>: Sendable, Hashable {
    /// The service's full protobuf name, River's service name.
    public var serviceName: String
    /// The method's name as written in the .proto, River's procedure name.
    public var methodName: String
    /// Creates a descriptor.
    public init(service serviceName: String, method methodName: String) {
        self.serviceName = serviceName
        self.methodName = methodName
    }
}

/// A client-streaming protobuf method: a sequence of `Input` in, one `Output` out.
public struct ProtobufClientStreamingMethod<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>: Sendable, Hashable {
    /// The service's full protobuf name, River's service name.
    public var serviceName: String
    /// The method's name as written in the .proto, River's procedure name.
    public var methodName: String
    /// Creates a descriptor.
    public init(service serviceName: String, method methodName: String) {
        self.serviceName = serviceName
        self.methodName = methodName
    }
}

/// A bidirectional-streaming protobuf method: `Input` and `Output` sequences, each side
/// closing independently.
public struct ProtobufBidiStreamingMethod<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>: Sendable, Hashable {
    /// The service's full protobuf name, River's service name.
    public var serviceName: String
    /// The method's name as written in the .proto, River's procedure name.
    public var methodName: String
    /// Creates a descriptor.
    public init(service serviceName: String, method methodName: String) {
        self.serviceName = serviceName
        self.methodName = methodName
    }
}

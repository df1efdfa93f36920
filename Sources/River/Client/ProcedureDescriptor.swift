/// A procedure's identity without its payload types: what interceptors, spans, metrics and
/// log lines see of a call.
public struct RiverProcedureDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// The service name on the wire.
    public var serviceName: String
    /// The procedure name on the wire.
    public var procedureName: String
    /// The procedure kind.
    public var kind: ProcedureKind

    /// Creates a descriptor.
    public init(service serviceName: String, procedure procedureName: String, kind: ProcedureKind) {
        self.serviceName = serviceName
        self.procedureName = procedureName
        self.kind = kind
    }

    /// `service.procedure`, the procedure's name in metrics labels and log lines.
    public var fullName: String { "\(serviceName).\(procedureName)" }

    /// `service.procedure (kind)`.
    public var description: String { "\(fullName) (\(kind.rawValue))" }
}

extension RPCProcedure {
    /// The procedure's untyped descriptor.
    public var descriptor: RiverProcedureDescriptor { .init(service: serviceName, procedure: procedureName, kind: .rpc) }
}

extension UploadProcedure {
    /// The procedure's untyped descriptor.
    public var descriptor: RiverProcedureDescriptor { .init(service: serviceName, procedure: procedureName, kind: .upload) }
}

extension SubscriptionProcedure {
    /// The procedure's untyped descriptor.
    public var descriptor: RiverProcedureDescriptor {
        .init(service: serviceName, procedure: procedureName, kind: .subscription)
    }
}

extension StreamProcedure {
    /// The procedure's untyped descriptor.
    public var descriptor: RiverProcedureDescriptor { .init(service: serviceName, procedure: procedureName, kind: .stream) }
}

/// A schema the generator cannot translate, or input it cannot read.
///
/// `path` names the offending node as a dotted JSON path from the document root, for example
/// `services.test.procedures.add.init.properties.x`.
public struct CodegenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The dotted JSON path of the offending node (empty for document-level problems).
    public var path: String
    /// What is wrong.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - path: The dotted JSON path of the offending node.
    ///   - message: What is wrong.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Something the generated code represents less precisely than the schema (for example a
/// `type` no codec knows, kept as `RiverValue`). Generation goes on; `river-codegen` prints
/// warnings on stderr.
public struct CodegenWarning: Sendable, Hashable, CustomStringConvertible {
    /// The dotted JSON path of the node.
    public var path: String
    /// What the generated code does instead.
    public var message: String

    /// Creates a warning.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `warning: <path>: <message>`.
    public var description: String { "warning: \(path): \(message)" }
}

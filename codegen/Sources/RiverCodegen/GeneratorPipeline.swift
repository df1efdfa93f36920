/// What to generate.
public struct GeneratorConfiguration: Sendable, Hashable {
    /// The access level of the generated declarations (and of the imports that they expose).
    public var access: AccessModifier
    /// An enum that wraps all generated declarations, e.g. `ReferenceServices`; `nil` puts the
    /// service namespaces at the top level.
    public var namespace: String?
    /// Whether everything goes into one file, `<Prefix>.swift` (what the build-tool plugin
    /// uses: its output file must be known before the schema is read).
    public var singleFile: Bool

    /// Creates a configuration.
    /// - Parameters:
    ///   - access: `public`, `package` or `internal`.
    ///   - namespace: The wrapping namespace, or `nil`.
    ///   - singleFile: Whether to write one file instead of one per service.
    public init(access: AccessModifier = .public, namespace: String? = nil, singleFile: Bool = false) {
        self.access = access
        self.namespace = namespace
        self.singleFile = singleFile
    }
}

/// A schema file read into memory.
public struct InputFile: Sendable, Hashable {
    /// The file name (no directories), quoted in the generated header.
    public var name: String
    /// The file's bytes.
    public var contents: [UInt8]

    /// Creates an input file.
    public init(name: String, contents: [UInt8]) {
        self.name = name
        self.contents = contents
    }
}

/// river-codegen's pipeline: parse (JSON → ``RiverSchema``) → translate (→ structured Swift,
/// ``SwiftFileDescription``) → render (→ ``RenderedFile`` text). Each stage is usable alone.
public struct GeneratorPipeline: Sendable {
    /// The configuration.
    public var configuration: GeneratorConfiguration

    /// Creates a pipeline.
    /// - Parameter configuration: What to generate.
    public init(configuration: GeneratorConfiguration) {
        self.configuration = configuration
    }

    /// Runs all three stages.
    /// - Parameter input: The schema file.
    /// - Returns: The generated files: a shared file, then one per service.
    /// - Throws: ``CodegenError`` naming the JSON path of the first unsupported construct.
    public func run(_ input: InputFile) throws -> [RenderedFile] {
        try generate(input).files
    }

    /// Runs all three stages, also returning the warnings.
    /// - Parameter input: The schema file.
    /// - Returns: The generated files and the warnings (constructs kept as `RiverValue`).
    /// - Throws: ``CodegenError`` naming the JSON path of the first unsupported construct.
    public func generate(_ input: InputFile) throws -> GeneratorOutput {
        if let namespace = configuration.namespace, !Naming.isUsableTypeName(namespace) {
            throw CodegenError(path: "", message: "the namespace \"\(namespace)\" is not a usable Swift type name")
        }
        if configuration.access == .private {
            throw CodegenError(path: "", message: "generated declarations cannot be private")
        }
        let schema = try SchemaParser().parse(input.contents)
        var warnings: [CodegenWarning] = []
        let files = try Translator(configuration: configuration, schemaFileName: input.name).translate(schema, warnings: &warnings)
        let renderer = SwiftRenderer()
        return GeneratorOutput(files: files.map { renderer.render($0) }, warnings: warnings)
    }
}

/// What the pipeline produced.
public struct GeneratorOutput: Sendable, Hashable {
    /// The rendered files.
    public var files: [RenderedFile]
    /// Nodes the generated code represents less precisely than the schema.
    public var warnings: [CodegenWarning]

    /// Creates an output.
    public init(files: [RenderedFile], warnings: [CodegenWarning]) {
        self.files = files
        self.warnings = warnings
    }
}

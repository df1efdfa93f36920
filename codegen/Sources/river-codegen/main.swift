import ArgumentParser
import Foundation
import RiverCodegen

/// `river-codegen`: River serialized schema JSON → typed Swift clients.
struct RiverCodegenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "river-codegen",
        abstract: "Generate typed Swift clients from a River serialized schema (JSON).",
        discussion: """
            Writes <Prefix>.swift (namespace, HandshakeMetadata, shared helpers) and one \
            <Prefix>+<Service>.swift per service into the output directory (or only \
            <Prefix>.swift with --single-file). <Prefix> is the namespace, or the schema file's \
            name in UpperCamelCase. Files whose content is unchanged are not rewritten; stale \
            files generated earlier from a schema of the same file name are removed. With \
            --check nothing is written, and the exit status is 1 when the directory is out of \
            date. Warnings (schema types kept as RiverValue) go to stderr.
            """
    )

    @Argument(help: "The schema JSON file (output of River's serializeSchema).")
    var schema: String

    @Option(name: .shortAndLong, help: "The directory to write the Swift files into (created if missing).")
    var output: String?

    @Option(help: "Write everything into this one file (implies --single-file; what the build-tool plugin uses).")
    var outputFile: String?

    @Option(help: "Access level of the generated declarations: public, package or internal.")
    var access: String = "public"

    @Option(help: "Wrap everything in this enum namespace, e.g. ReferenceServices.")
    var namespace: String?

    @Flag(help: "Write everything into one file, <Prefix>.swift, instead of one file per service.")
    var singleFile = false

    @Flag(help: "Write nothing; exit with status 1 when the output directory is not what this schema generates (for CI).")
    var check = false

    func run() throws {
        guard let accessLevel = AccessModifier(rawValue: access), accessLevel != .private else {
            throw ValidationError("--access must be public, package or internal")
        }
        if let namespace, !Naming.isUsableTypeName(namespace) {
            throw ValidationError("--namespace must be a Swift identifier that is not a keyword or a reserved type name (such as Data or Result)")
        }
        guard (output == nil) != (outputFile == nil) else {
            throw ValidationError("give exactly one of --output <directory> and --output-file <file>")
        }
        let schemaURL = URL(fileURLWithPath: schema)
        let data = try Data(contentsOf: schemaURL)
        let configuration = GeneratorConfiguration(access: accessLevel, namespace: namespace, singleFile: singleFile || outputFile != nil)
        let pipeline = GeneratorPipeline(configuration: configuration)
        let output: GeneratorOutput
        do {
            output = try pipeline.generate(InputFile(name: schemaURL.lastPathComponent, contents: [UInt8](data)))
        } catch let error as CodegenError {
            throw ValidationError("\(schemaURL.lastPathComponent): \(error)")
        }
        for warning in output.warnings {
            FileHandle.standardError.write(Data("river-codegen: \(schemaURL.lastPathComponent): \(warning)\n".utf8))
        }
        var files = output.files
        let directoryPath: String
        if let outputFile {
            // One file, under the name the caller chose.
            let fileURL = URL(fileURLWithPath: outputFile)
            files = files.map { RenderedFile(name: fileURL.lastPathComponent, contents: $0.contents) }
            directoryPath = fileURL.deletingLastPathComponent().path
        } else {
            directoryPath = self.output ?? "."
        }
        let directory = OutputDirectory(
            url: URL(fileURLWithPath: directoryPath, isDirectory: true), schemaFileName: schemaURL.lastPathComponent,
            removesStaleFiles: outputFile == nil
        )
        if check {
            let problems = try directory.differences(from: files)
            guard problems.isEmpty else {
                for problem in problems {
                    FileHandle.standardError.write(Data("river-codegen: out of date: \(problem)\n".utf8))
                }
                FileHandle.standardError.write(Data("river-codegen: rerun without --check to regenerate\n".utf8))
                throw ExitCode(1)
            }
            return
        }
        for line in try directory.write(files) { print(line) }
    }
}

RiverCodegenCommand.main()

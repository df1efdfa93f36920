import River

/// One procedure the test server serves: its schemas (as the reference declares them) and kind.
struct ProcedureDescriptor: Sendable {
    let service: String
    let name: String
    let kind: ProcedureKind
    let initSchema: SchemaNode
    /// `requestData`; only `stream` and `upload` have one.
    let input: SchemaNode?
    let output: SchemaNode
    /// The procedure's declared error variants (River's four reserved ones are appended when
    /// serializing).
    let declaredErrors: [SchemaNode]
    /// `service.procedure` (built once: handlers switch on it for every call).
    let key: String

    init(
        service: String, name: String, kind: ProcedureKind, initSchema: SchemaNode, input: SchemaNode?,
        output: SchemaNode, declaredErrors: [SchemaNode]
    ) {
        self.service = service
        self.name = name
        self.kind = kind
        self.initSchema = initSchema
        self.input = input
        self.output = output
        self.declaredErrors = declaredErrors
        self.key = service + "." + name
    }

    /// rpc and upload answer with one result that carries the Closed bit; no separate CLOSE.
    var closesWithResponse: Bool { kind == .rpc || kind == .upload }

    /// `{init, output, errors, type, input?}` as River's `serializeSchema` prints it.
    var serialized: RiverValue {
        var fields: [String: RiverValue] = [
            "init": initSchema.serialized,
            "output": output.serialized,
            "errors": ["anyOf": .array((declaredErrors + ServiceCatalog.reservedErrors).map(\.serialized))],
            "type": .string(kind.rawValue),
        ]
        if let input { fields["input"] = input.serialized }
        return .object(fields)
    }
}

/// The reference test services (python-client branch `tests/test_server.ts`), by mode.
enum ServiceCatalog {
    /// `{code: Literal(code), message: String}`.
    static func errorVariant(_ code: String) -> SchemaNode {
        .obj(("code", .stringLiteral(code)), ("message", .string))
    }

    /// River's reserved error variants, in `serializeSchema`'s order.
    static let reservedErrors: [SchemaNode] = [
        errorVariant(ReservedErrorCode.uncaughtError),
        errorVariant(ReservedErrorCode.unexpectedDisconnect),
        .obj(
            [
                ("code", .stringLiteral(ReservedErrorCode.invalidRequest)),
                ("message", .string),
                (
                    "extras",
                    .obj(
                        ("firstValidationErrors", .array(.obj(("path", .string), ("message", .string)))),
                        ("totalErrors", .number)
                    )
                ),
            ],
            optional: ["extras"]
        ),
        errorVariant(ReservedErrorCode.cancel),
    ]

    /// The handshake metadata schema of handshake mode: `{token: string}`.
    static let handshakeSchema: SchemaNode = .obj(("token", .string))

    private static let recursivePayload: SchemaNode = .definitions(
        name: "RecursivePayload",
        definition: .obj(
            [("value", .string), ("children", .array(.reference("RecursivePayload")))],
            optional: ["children"]
        )
    )

    private static func rpc(_ service: String, _ name: String, _ initSchema: SchemaNode, _ output: SchemaNode, errors: [SchemaNode] = []) -> ProcedureDescriptor {
        ProcedureDescriptor(service: service, name: name, kind: .rpc, initSchema: initSchema, input: nil, output: output, declaredErrors: errors)
    }

    private static func stream(_ service: String, _ name: String, _ initSchema: SchemaNode, _ input: SchemaNode, _ output: SchemaNode, errors: [SchemaNode] = []) -> ProcedureDescriptor {
        ProcedureDescriptor(service: service, name: name, kind: .stream, initSchema: initSchema, input: input, output: output, declaredErrors: errors)
    }

    private static func upload(_ service: String, _ name: String, _ initSchema: SchemaNode, _ input: SchemaNode, _ output: SchemaNode, errors: [SchemaNode] = []) -> ProcedureDescriptor {
        ProcedureDescriptor(service: service, name: name, kind: .upload, initSchema: initSchema, input: input, output: output, declaredErrors: errors)
    }

    private static func subscription(_ service: String, _ name: String, _ initSchema: SchemaNode, _ output: SchemaNode) -> ProcedureDescriptor {
        ProcedureDescriptor(service: service, name: name, kind: .subscription, initSchema: initSchema, input: nil, output: output, declaredErrors: [])
    }

    /// The six services of the normal-mode server (`SERVER`).
    static let standard: [ProcedureDescriptor] = {
        let echoInput: SchemaNode = .obj([("msg", .string), ("ignore", .boolean)], optional: ["ignore"])
        let response: SchemaNode = .obj(("response", .string))
        let addInit: SchemaNode = .obj(("n", .number))
        let result: SchemaNode = .obj(("result", .number))
        let done: SchemaNode = .obj(("done", .boolean))
        return [
            rpc("test", "add", addInit, result),
            stream("test", "echo", .empty, echoInput, response),
            stream("test", "echoWithPrefix", .obj(("prefix", .string)), echoInput, response),
            rpc("test", "echoBinary", .obj(("data", .bytes)), .obj(("data", .bytes), ("length", .number))),
            rpc("test", "echoRecursive", recursivePayload, recursivePayload),

            rpc("ordering", "add", addInit, .obj(("n", .number))),
            rpc("ordering", "getAll", .empty, .obj(("msgs", .array(.number)))),

            rpc("fallible", "divide", .obj(("a", .number), ("b", .number)), result, errors: [errorVariant("DIV_BY_ZERO"), errorVariant("INFINITY")]),
            stream(
                "fallible", "echo", .empty,
                .obj([("msg", .string), ("throwResult", .boolean), ("throwError", .boolean)], optional: ["throwResult", "throwError"]),
                response, errors: [errorVariant("STREAM_ERROR")]
            ),

            rpc("subscribable", "add", addInit, result),
            subscription("subscribable", "value", .empty, .obj(("count", .number))),

            upload("uploadable", "addMultiple", .empty, addInit, result),
            upload("uploadable", "addMultipleWithPrefix", .obj(("prefix", .string)), addInit, .obj(("result", .string))),
            upload("uploadable", "cancellableAdd", .empty, addInit, result, errors: [errorVariant("CANCEL")]),

            rpc("cancel", "blockingRpc", .empty, .empty),
            stream("cancel", "blockingStream", .empty, .empty, .empty),
            upload("cancel", "blockingUpload", .empty, .empty, .empty),
            subscription("cancel", "blockingSubscription", .empty, .empty),
            rpc("cancel", "immediateRpc", .empty, done),
            stream("cancel", "immediateStream", .empty, .empty, done),
            upload("cancel", "immediateUpload", .empty, .empty, done),
            subscription("cancel", "immediateSubscription", .empty, done),
            stream("cancel", "countedStream", .obj(("total", .number)), .empty, .obj(("i", .number))),
        ]
    }()

    /// The one service of the handshake-mode server (`HANDSHAKE_SERVER`): rpc `test.echo`.
    static let handshake: [ProcedureDescriptor] = [
        rpc("test", "echo", .obj(("msg", .string)), .obj(("response", .string)))
    ]

    /// Procedures by service, then by name.
    static func index(_ procedures: [ProcedureDescriptor]) -> [String: [String: ProcedureDescriptor]] {
        var result: [String: [String: ProcedureDescriptor]] = [:]
        for procedure in procedures { result[procedure.service, default: [:]][procedure.name] = procedure }
        return result
    }

    /// River's serialized schema: `{services: {name: {procedures: {...}}}, handshakeSchema}`.
    static func serializedSchema(_ procedures: [ProcedureDescriptor]) -> RiverValue {
        var services: [String: RiverValue] = [:]
        for (service, procs) in index(procedures) {
            services[service] = ["procedures": .object(procs.mapValues(\.serialized))]
        }
        return ["services": .object(services), "handshakeSchema": handshakeSchema.serialized]
    }
}

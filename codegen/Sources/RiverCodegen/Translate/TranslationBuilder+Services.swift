// Services, procedures and client methods.
extension TranslationBuilder {

    /// A service's namespace enum, and the file-level extension of its `ClientProtocol` with
    /// the calls that use default options.
    func service(_ service: RiverSchema.Service, swiftName: String) throws -> (namespace: Declaration, conveniences: Declaration) {
        usesRiver = true
        let enclosing = (configuration.namespace.map { [$0] } ?? []) + [swiftName]
        var procedureNames = Naming.reservedTypeNames.union(enclosing).union(["Client", "ClientProtocol"])
        var methodNames: Set<String> = ["river", "init_"]
        var members: [Declaration] = []
        var requirements: [Declaration] = []
        var conveniences: [Declaration] = []
        var methods: [Declaration] = []
        for procedure in service.procedures {
            let namespaceName = Naming.unique(Naming.typeName(procedure.name), in: &procedureNames)
            let methodName = Naming.unique(Naming.legalMemberName(procedure.name), in: &methodNames)
            members.append(try self.procedure(procedure, service: service, swiftName: namespaceName, enclosing: enclosing))
            let method = Naming.escaped(methodName)
            let call = clientCall(procedure, service: service, namespace: namespaceName, method: method)
            requirements.append(call.requirement)
            methods.append(call.method)
            // The extension is at file level: it names the procedure namespace in full.
            let qualified = (enclosing + [namespaceName]).joined(separator: ".")
            conveniences.append(clientCall(procedure, service: service, namespace: qualified, method: method).convenience)
        }
        members.append(Declaration(
            doc: [
                "The calls of the `\(service.name)` service. `Client` implements them over River; an application",
                "can write its own implementation (a fake for its tests) and depend on `some ClientProtocol`.",
            ],
            .protocolDeclaration(ProtocolDescription(access: access, name: "ClientProtocol", inheritance: ["Sendable"], members: requirements))
        ))
        let client = Declaration(
            doc: ["A client of the `\(service.name)` service over River: one method per procedure."],
            .structure(StructDescription(access: access, name: "Client", inheritance: ["ClientProtocol"], members: [
                Declaration(doc: ["The River client the calls go through."], .variable(VariableDescription(access: access, isLet: true, name: "river", type: "RiverClient"))),
                Declaration(
                    doc: ["Creates a service client.", "- Parameter river: The River client the calls go through."],
                    .function(FunctionDescription(access: access, name: "init", parameters: [.init(label: "_", name: "river", type: "RiverClient")], body: [.line("self.river = river")]))
                ),
            ] + methods))
        )
        members.append(client)
        let namespace = Declaration(
            sourcePath: service.path,
            doc: ["The `\(service.name)` service."],
            .enumeration(EnumDescription(access: access, name: swiftName, members: members))
        )
        let extended = (enclosing + ["ClientProtocol"]).joined(separator: ".")
        return (namespace, Declaration(.extending(ExtensionDescription(extendedType: extended, members: conveniences))))
    }

    func procedure(_ procedure: RiverSchema.Procedure, service: RiverSchema.Service, swiftName: String, enclosing: [String]) throws -> Declaration {
        let qualified = "\(service.name).\(procedure.name)"
        let payloadNames: Set<String> = ["Init", "Input", "Output", "Failure"]
        var scope = Scope(taken: Naming.reservedTypeNames.union(enclosing).union([swiftName]), enclosing: enclosing + [swiftName])
        refNames = [:]
        declaredDefinitions = [:]
        definitionScope = Scope(taken: scope.taken.union(payloadNames), enclosing: scope.enclosing)

        try declarePayload(procedure.initSchema, name: "Init", scope: &scope, doc: ["The init payload of `\(qualified)`."])
        if let input = procedure.input {
            try declarePayload(input, name: "Input", scope: &scope, doc: ["A request of `\(qualified)`."])
        }
        try declarePayload(procedure.output, name: "Output", scope: &scope, doc: ["A response of `\(qualified)`."])
        scope.declarations.append(try failure(procedure, qualified: qualified, enclosing: scope.enclosing))
        scope.declarations += definitionScope.declarations

        let descriptor: String
        switch procedure.kind {
        case .rpc: descriptor = "RPCProcedure<Init, Output, Failure>"
        case .upload: descriptor = "UploadProcedure<Init, Input, Output, Failure>"
        case .subscription: descriptor = "SubscriptionProcedure<Init, Output, Failure>"
        case .stream: descriptor = "StreamProcedure<Init, Input, Output, Failure>"
        }
        scope.declarations.append(Declaration(
            doc: ["The descriptor of `\(qualified)`, \(procedure.kind == .rpc || procedure.kind == .upload ? "an" : "a") \(procedure.kind.rawValue) procedure."],
            .variable(VariableDescription(
                access: access, isStatic: true, isLet: true, name: "procedure", type: nil,
                initialValue: "\(descriptor)(service: \(Naming.stringLiteral(service.name)), procedure: \(Naming.stringLiteral(procedure.name)))"
            ))
        ))
        let doc = docLines(procedure.description) ?? ["The `\(qualified)` \(procedure.kind.rawValue) procedure: its payload types and descriptor."]
        return Declaration(sourcePath: procedure.path, doc: doc, .enumeration(EnumDescription(access: access, name: swiftName, members: scope.declarations)))
    }

    /// The declarations of one procedure's call: the `ClientProtocol` requirement, the
    /// convenience without `options` (default call options), and `Client`'s implementation.
    func clientCall(_ procedure: RiverSchema.Procedure, service: RiverSchema.Service, namespace: String, method: String) -> (requirement: Declaration, convenience: Declaration, method: Declaration) {
        let n = namespace
        let initParameter = ParameterDescription(label: "_", name: "initPayload", type: "\(n).Init")
        let optionsParameter = ParameterDescription(name: "options", type: "CallOptions")
        let summary = docLines(procedure.description) ?? ["Calls `\(service.name).\(procedure.name)`, \(procedure.kind == .rpc || procedure.kind == .upload ? "an" : "a") \(procedure.kind.rawValue) procedure."]
        var genericParameters: [String] = []
        var closure: ParameterDescription?
        var closureDoc: String?
        let returnType: String
        let runtimeCall: String
        switch procedure.kind {
        case .rpc:
            returnType = "Result<\(n).Output, \(n).Failure>"
            runtimeCall = "river.rpc(\(n).procedure, initPayload, options: options)"
        case .upload:
            closure = .init(name: "requests", type: "(RequestWriter<\(n).Input>) async throws -> Void")
            closureDoc = "  - requests: Writes the requests; the request side is finished when it returns."
            returnType = "Result<\(n).Output, \(n).Failure>"
            runtimeCall = "river.upload(\(n).procedure, initPayload, options: options, requests: requests)"
        case .subscription:
            genericParameters = ["Result: Sendable"]
            closure = .init(name: "body", type: "(ResponseStream<\(n).Output, \(n).Failure>) async throws -> Result")
            closureDoc = "  - body: Reads the results; returning early cancels the subscription."
            returnType = "Result"
            runtimeCall = "river.subscribe(\(n).procedure, initPayload, options: options, body: body)"
        case .stream:
            genericParameters = ["Result: Sendable"]
            closure = .init(name: "body", type: "(RequestWriter<\(n).Input>, ResponseStream<\(n).Output, \(n).Failure>) async throws -> Result")
            closureDoc = "  - body: Writes requests and reads results; returning early cancels the stream."
            returnType = "Result"
            runtimeCall = "river.stream(\(n).procedure, initPayload, options: options, body: body)"
        }
        let returns = procedure.kind == .rpc || procedure.kind == .upload
            ? "- Returns: The output, or a service error the procedure declares."
            : "- Returns: What `body` returns."
        let throwsDoc = procedure.kind == .rpc
            ? "- Throws: `RiverError` for protocol errors, lost sessions and River's reserved errors."
            : "- Throws: `RiverError` for protocol errors, lost sessions and River's reserved errors, and what the closure throws."
        let closureParameters = closure.map { [$0] } ?? []
        let closureDocs = closureDoc.map { [$0] } ?? []

        let fullDoc = summary + ["- Parameters:", "  - initPayload: The init payload.", "  - options: Options for this call."] + closureDocs + [returns, throwsDoc]
        let requirement = FunctionDescription(
            access: .internal, name: method, genericParameters: genericParameters,
            parameters: [initParameter, optionsParameter] + closureParameters,
            effects: ["async", "throws"], returnType: returnType, body: []
        )
        var implementation = requirement
        implementation.access = access
        implementation.body = [.line("try await " + runtimeCall)]

        let forwarded = ["initPayload", "options: .defaults"] + closureParameters.map { "\($0.name): \($0.name)" }
        let convenience = FunctionDescription(
            access: access, name: method, genericParameters: genericParameters,
            parameters: [initParameter] + closureParameters,
            effects: ["async", "throws"], returnType: returnType,
            body: [.line("try await \(method)(\(forwarded.joined(separator: ", ")))")]
        )
        let convenienceDoc = summary + ["", "Uses the default call options.", "- Parameters:", "  - initPayload: The init payload."] + closureDocs + [returns, throwsDoc]
        return (
            Declaration(sourcePath: procedure.path, doc: fullDoc, .function(requirement)),
            Declaration(doc: convenienceDoc, .function(convenience)),
            Declaration(sourcePath: procedure.path, doc: fullDoc, .function(implementation))
        )
    }
}

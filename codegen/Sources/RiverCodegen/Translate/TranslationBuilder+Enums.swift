// Literal schemas (`const`, `enum`) as enums.
extension TranslationBuilder {
    /// Case names (unescaped) for literals, unique in order: strings by their text, numbers by
    /// their digits (`3.14` → `_3_14`, `-1` → `minus1`), `true`, `false`, `null`.
    func literalCaseNames(_ values: [JSONLiteral]) -> [String] {
        var taken: Set<String> = []
        return values.map { value in
            let base: String
            switch value {
            case .string(let text): base = Naming.legalMemberName(text)
            case .number(let text):
                var spelled = ""
                for character in text {
                    switch character {
                    case "-": spelled += "minus"
                    case "+": break
                    case ".": spelled += "_"
                    default: spelled.append(character)
                    }
                }
                base = spelled.first?.isNumber == true ? "_" + spelled : spelled
            case .bool(let flag): base = flag ? "true" : "false"
            case .null: base = "null"
            }
            return Naming.unique(base, in: &taken)
        }
    }

    /// An enum of literals: a `String`-backed enum when they are all strings, else an enum
    /// whose coding compares the decoded JSON value with each literal.
    func literalEnum(_ name: String, values: [JSONLiteral], path: String, doc: [String]) -> Declaration {
        let names = literalCaseNames(values)
        let strings = values.compactMap { if case .string(let text) = $0 { return text } else { return nil } }
        if strings.count == values.count {
            let cases = zip(names, strings).map { caseName, value in
                Declaration(doc: ["`\(value)`."], .enumCase(EnumCaseDescription(name: Naming.escaped(caseName), rawValue: caseName == value ? nil : Naming.stringLiteral(value))))
            }
            return Declaration(sourcePath: path, doc: doc, .enumeration(EnumDescription(
                access: access, name: name, inheritance: ["String", "Sendable", "Hashable", "Codable", "CaseIterable"], members: cases
            )))
        }
        var members = zip(names, values).map { caseName, value in
            Declaration(doc: ["`\(value.jsonText)`."], .enumCase(EnumCaseDescription(name: Naming.escaped(caseName))))
        }
        var decode: [CodeBlock] = [.line("let container = try decoder.singleValueContainer()")]
        var encodeCases: [CodeBlock] = []
        let pairs = Array(zip(names.map(Naming.escaped), values))
        if let null = pairs.first(where: { $0.1 == .null }) {
            decode.append(.block("if container.decodeNil() {", [.line("self = .\(null.0)"), .line("return")]))
        }
        let groups: [(type: String, matches: [(String, String)])] = [
            ("Bool", pairs.compactMap { if case .bool(let flag) = $0.1 { return ($0.0, flag ? "true" : "false") } else { return nil } }),
            ("Double", pairs.compactMap { if case .number(let text) = $0.1 { return ($0.0, text) } else { return nil } }),
            ("String", pairs.compactMap { if case .string(let text) = $0.1 { return ($0.0, Naming.stringLiteral(text)) } else { return nil } }),
        ]
        for group in groups where !group.matches.isEmpty {
            decode.append(.block("if let value = try? container.decode(\(group.type).self) {", group.matches.map { caseName, literal in
                .line("if value == \(literal) { self = .\(caseName); return }")
            }))
        }
        let expected = values.map(\.jsonText).joined(separator: ", ")
        decode += [
            .line("throw DecodingError.dataCorruptedError("),
            .line("    in: container, debugDescription: \(Naming.stringLiteral("expected one of " + expected))"),
            .line(")"),
        ]
        for (caseName, value) in pairs {
            let write: String
            switch value {
            case .null: write = "try container.encodeNil()"
            case .bool(let flag): write = "try container.encode(\(flag))"
            case .string(let text): write = "try container.encode(\(Naming.stringLiteral(text)))"
            case .number(let text):
                // Integral literals are written as integers, as a JavaScript server writes them.
                write = value.isIntegral && Int64(text) != nil ? "try container.encode(\(text) as Int64)" : "try container.encode(\(text) as Double)"
            }
            encodeCases.append(.line("case .\(caseName): \(write)"))
        }
        members.append(Declaration(
            doc: ["Decodes the literal the value equals."],
            .function(decodingInit(body: decode))
        ))
        members.append(Declaration(
            doc: ["Encodes the literal."],
            .function(encodingFunction(body: [
                .line("var container = encoder.singleValueContainer()"),
                .block("switch self {", encodeCases),
            ]))
        ))
        return Declaration(sourcePath: path, doc: doc, .enumeration(EnumDescription(
            access: access, name: name, inheritance: ["Sendable", "Hashable", "Codable", "CaseIterable"], members: members
        )))
    }
}

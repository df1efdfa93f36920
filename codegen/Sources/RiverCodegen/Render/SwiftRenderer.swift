/// A rendered Swift source file: the output of the render stage.
public struct RenderedFile: Sendable, Hashable {
    /// The file name.
    public var name: String
    /// The source text (UTF-8, ending in a newline).
    public var contents: String

    /// Creates a rendered file.
    public init(name: String, contents: String) {
        self.name = name
        self.contents = contents
    }
}

/// The render stage: structured Swift → source text, indented with 4 spaces.
///
/// Formatting is deterministic: members are separated by one blank line, except runs of enum
/// cases and of stored properties; a function signature longer than ``maximumLineWidth``
/// puts one parameter per line.
public struct SwiftRenderer: Sendable {
    /// The column beyond which function signatures wrap.
    public var maximumLineWidth: Int

    /// Creates a renderer.
    /// - Parameter maximumLineWidth: The column beyond which function signatures wrap.
    public init(maximumLineWidth: Int = 120) {
        self.maximumLineWidth = maximumLineWidth
    }

    /// Renders a file.
    /// - Parameter file: The file description.
    /// - Returns: The file's text.
    public func render(_ file: SwiftFileDescription) -> RenderedFile {
        var lines: [String] = file.headerComments.map { $0.isEmpty ? "//" : "// " + $0 }
        if !file.imports.isEmpty {
            if !lines.isEmpty { lines.append("") }
            lines += file.imports.map { ($0.access.map { $0.prefix } ?? "") + "import " + $0.module }
        }
        for declaration in file.declarations {
            if !lines.isEmpty { lines.append("") }
            lines += render(declaration, indent: 0)
        }
        return RenderedFile(name: file.name, contents: lines.joined(separator: "\n") + "\n")
    }

    /// Renders declarations as lines at the given indentation level (used by snippet tests).
    /// - Parameters:
    ///   - declarations: The declarations, rendered as members of one scope.
    ///   - indent: The indentation level.
    /// - Returns: The text, ending in a newline.
    public func renderMembers(_ declarations: [Declaration], indent: Int = 0) -> String {
        members(declarations, indent: indent).joined(separator: "\n") + "\n"
    }

    func pad(_ indent: Int) -> String { String(repeating: "    ", count: indent) }

    func render(_ declaration: Declaration, indent: Int) -> [String] {
        let p = pad(indent)
        var lines: [String] = []
        if let path = declaration.sourcePath { lines.append(p + "// " + path) }
        lines += declaration.doc.map { $0.isEmpty ? p + "///" : p + "/// " + $0 }
        switch declaration.kind {
        case .enumeration(let e):
            let head = e.access.prefix + (e.isIndirect ? "indirect " : "") + "enum " + e.name + inheritance(e.inheritance)
            lines += scope(head, e.members, indent: indent)
        case .structure(let s):
            lines += scope(s.access.prefix + "struct " + s.name + inheritance(s.inheritance), s.members, indent: indent)
        case .protocolDeclaration(let x):
            lines += scope(x.access.prefix + "protocol " + x.name + inheritance(x.inheritance), x.members.map(\.asRequirement), indent: indent)
        case .extending(let x):
            lines += scope("extension " + x.extendedType + inheritance(x.inheritance), x.members, indent: indent)
        case .typeAlias(let t):
            lines.append(p + t.access.prefix + "typealias " + t.name + " = " + t.existingType)
        case .variable(let v):
            var text = v.access.prefix + (v.isStatic ? "static " : "") + (v.isLet ? "let " : "var ") + v.name
            if let type = v.type { text += ": " + type }
            if let value = v.initialValue { text += " = " + value }
            if let getter = v.getter {
                lines.append(p + text + " {")
                lines += code(getter, indent: indent + 1)
                lines.append(p + "}")
            } else {
                lines.append(p + text)
            }
        case .function(let f):
            lines += function(f, indent: indent)
        case .enumCase(let c):
            var text = "case " + c.name
            if !c.associatedValues.isEmpty { text += "(" + c.associatedValues.joined(separator: ", ") + ")" }
            if let raw = c.rawValue { text += " = " + raw }
            lines.append(p + text)
        }
        return lines
    }

    func inheritance(_ types: [String]) -> String {
        types.isEmpty ? "" : ": " + types.joined(separator: ", ")
    }

    func scope(_ head: String, _ body: [Declaration], indent: Int) -> [String] {
        let p = pad(indent)
        if body.isEmpty { return [p + head + " {}"] }
        return [p + head + " {"] + members(body, indent: indent + 1) + [p + "}"]
    }

    func members(_ declarations: [Declaration], indent: Int) -> [String] {
        var lines: [String] = []
        var previous: Declaration?
        for declaration in declarations {
            if let previous, !groups(previous, declaration) { lines.append("") }
            lines += render(declaration, indent: indent)
            previous = declaration
        }
        return lines
    }

    /// Whether two adjacent members stay together without a blank line.
    func groups(_ a: Declaration, _ b: Declaration) -> Bool {
        switch (a.kind, b.kind) {
        case (.enumCase, .enumCase):
            return true
        case (.variable(let x), .variable(let y)):
            return !x.isStatic && !y.isStatic && x.getter == nil && y.getter == nil
        default:
            return false
        }
    }

    func function(_ f: FunctionDescription, indent: Int) -> [String] {
        let p = pad(indent)
        // `init` and failable `init?` are initializers.
        let isInit = f.name == "init" || f.name == "init?"
        var head = f.access.prefix + (f.isStatic ? "static " : "") + (isInit ? f.name : "func " + f.name)
        if !f.genericParameters.isEmpty { head += "<" + f.genericParameters.joined(separator: ", ") + ">" }
        var tail = f.effects.map { " " + $0 }.joined()
        if let returnType = f.returnType { tail += " -> " + returnType }
        let parameters = f.parameters.map { parameter -> String in
            var text = parameter.label.map { $0 + " " } ?? ""
            text += parameter.name + ": " + parameter.type
            if let value = parameter.defaultValue { text += " = " + value }
            return text
        }
        let opening = f.isRequirement ? "" : f.body.isEmpty ? " {}" : " {"
        var lines: [String]
        let oneLine = p + head + "(" + parameters.joined(separator: ", ") + ")" + tail + opening
        if oneLine.count <= maximumLineWidth || parameters.count < 2 {
            lines = [oneLine]
        } else {
            lines = [p + head + "("]
            lines += parameters.enumerated().map { pad(indent + 1) + $0.element + ($0.offset == parameters.count - 1 ? "" : ",") }
            lines.append(p + ")" + tail + opening)
        }
        if !f.body.isEmpty, !f.isRequirement {
            lines += code(f.body, indent: indent + 1)
            lines.append(p + "}")
        }
        return lines
    }

    func code(_ blocks: [CodeBlock], indent: Int) -> [String] {
        var lines: [String] = []
        for block in blocks {
            switch block {
            case .line(let text):
                lines.append(text.isEmpty ? "" : pad(indent) + text)
            case .block(let opening, let body, let closing):
                lines.append(pad(indent) + opening)
                // `case` labels align with their `switch`.
                lines += code(body, indent: opening.hasPrefix("switch ") ? indent : indent + 1)
                lines.append(pad(indent) + closing)
            }
        }
        return lines
    }
}

extension Declaration {
    /// The declaration as a protocol requirement: functions lose their bodies.
    var asRequirement: Declaration {
        guard case .function(var function) = kind else { return self }
        function.isRequirement = true
        return Declaration(sourcePath: sourcePath, doc: doc, .function(function))
    }
}

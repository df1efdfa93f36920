/// The structured description of generated Swift: the output of the translate stage and the
/// input of the render stage.
///
/// It describes declarations (namespaces, structs, enums, typealiases, properties, functions)
/// with their doc comments and source paths; statement bodies are kept as indented code
/// blocks, since the generated code has only a few fixed shapes of them.
public struct SwiftFileDescription: Sendable, Hashable {
    /// The file name, for example `ReferenceServices+Test.swift`.
    public var name: String
    /// Comment lines at the top (without `// `).
    public var headerComments: [String]
    /// The imports.
    public var imports: [ImportDescription]
    /// The top-level declarations.
    public var declarations: [Declaration]

    /// Creates a file description.
    public init(name: String, headerComments: [String], imports: [ImportDescription], declarations: [Declaration]) {
        self.name = name
        self.headerComments = headerComments
        self.imports = imports
        self.declarations = declarations
    }
}

/// An `import` line.
public struct ImportDescription: Sendable, Hashable {
    /// The access modifier (`public`, `package`), or `nil` for a plain (internal) import.
    public var access: AccessModifier?
    /// The module.
    public var module: String

    /// Creates an import.
    public init(access: AccessModifier?, module: String) {
        self.access = access
        self.module = module
    }
}

/// An access level of generated declarations.
public enum AccessModifier: String, Sendable, Hashable, CaseIterable {
    /// `public`.
    case `public`
    /// `package`.
    case `package`
    /// `internal` (rendered as no keyword).
    case `internal`
    /// `private`.
    case `private`

    /// The keyword followed by a space, or nothing for `internal`.
    var prefix: String { self == .internal ? "" : rawValue + " " }
}

/// A declaration with its comments.
public struct Declaration: Sendable, Hashable {
    /// The JSON path the declaration comes from, rendered as a `// path` comment.
    public var sourcePath: String?
    /// Doc comment lines (rendered with `/// `).
    public var doc: [String]
    /// The declaration itself.
    public var kind: Kind

    /// Creates a declaration.
    public init(sourcePath: String? = nil, doc: [String] = [], _ kind: Kind) {
        self.sourcePath = sourcePath
        self.doc = doc
        self.kind = kind
    }

    /// The kinds of declaration.
    public indirect enum Kind: Sendable, Hashable {
        /// `enum`, also used for namespaces (no cases).
        case enumeration(EnumDescription)
        /// `struct`.
        case structure(StructDescription)
        /// `protocol`; its functions are requirements (rendered without bodies).
        case protocolDeclaration(ProtocolDescription)
        /// `extension`.
        case extending(ExtensionDescription)
        /// `typealias`.
        case typeAlias(TypeAliasDescription)
        /// A stored or computed property.
        case variable(VariableDescription)
        /// A function or initializer.
        case function(FunctionDescription)
        /// An enum `case`.
        case enumCase(EnumCaseDescription)
    }
}

/// An `enum` declaration.
public struct EnumDescription: Sendable, Hashable {
    /// Access level.
    public var access: AccessModifier
    /// Whether the enum is `indirect`.
    public var isIndirect: Bool
    /// The name.
    public var name: String
    /// Raw type and protocols.
    public var inheritance: [String]
    /// Cases and other members.
    public var members: [Declaration]

    /// Creates an enum description.
    public init(access: AccessModifier, isIndirect: Bool = false, name: String, inheritance: [String] = [], members: [Declaration] = []) {
        self.access = access
        self.isIndirect = isIndirect
        self.name = name
        self.inheritance = inheritance
        self.members = members
    }
}

/// A `struct` declaration.
public struct StructDescription: Sendable, Hashable {
    /// Access level.
    public var access: AccessModifier
    /// The name.
    public var name: String
    /// Protocols.
    public var inheritance: [String]
    /// Members.
    public var members: [Declaration]

    /// Creates a struct description.
    public init(access: AccessModifier, name: String, inheritance: [String] = [], members: [Declaration] = []) {
        self.access = access
        self.name = name
        self.inheritance = inheritance
        self.members = members
    }
}

/// A `protocol` declaration.
public struct ProtocolDescription: Sendable, Hashable {
    /// Access level.
    public var access: AccessModifier
    /// The name.
    public var name: String
    /// Inherited protocols.
    public var inheritance: [String]
    /// Requirements: functions (their bodies are ignored).
    public var members: [Declaration]

    /// Creates a protocol description.
    public init(access: AccessModifier, name: String, inheritance: [String] = [], members: [Declaration] = []) {
        self.access = access
        self.name = name
        self.inheritance = inheritance
        self.members = members
    }
}

/// An `extension` declaration.
public struct ExtensionDescription: Sendable, Hashable {
    /// The extended type.
    public var extendedType: String
    /// Protocols the extension adds.
    public var inheritance: [String]
    /// Members.
    public var members: [Declaration]

    /// Creates an extension description.
    public init(extendedType: String, inheritance: [String] = [], members: [Declaration]) {
        self.extendedType = extendedType
        self.inheritance = inheritance
        self.members = members
    }
}

/// A `typealias` declaration.
public struct TypeAliasDescription: Sendable, Hashable {
    /// Access level.
    public var access: AccessModifier
    /// The alias name.
    public var name: String
    /// The aliased type.
    public var existingType: String

    /// Creates a typealias description.
    public init(access: AccessModifier, name: String, existingType: String) {
        self.access = access
        self.name = name
        self.existingType = existingType
    }
}

/// A property.
public struct VariableDescription: Sendable, Hashable {
    /// Access level.
    public var access: AccessModifier
    /// Whether it is `static`.
    public var isStatic: Bool
    /// `let` (true) or `var` (false).
    public var isLet: Bool
    /// The (already escaped) name.
    public var name: String
    /// The type annotation, if any.
    public var type: String?
    /// The initial value expression, if any.
    public var initialValue: String?
    /// A getter body, for computed properties.
    public var getter: [CodeBlock]?

    /// Creates a property description.
    public init(access: AccessModifier, isStatic: Bool = false, isLet: Bool, name: String, type: String?, initialValue: String? = nil, getter: [CodeBlock]? = nil) {
        self.access = access
        self.isStatic = isStatic
        self.isLet = isLet
        self.name = name
        self.type = type
        self.initialValue = initialValue
        self.getter = getter
    }
}

/// A function parameter.
public struct ParameterDescription: Sendable, Hashable {
    /// The argument label (`_` for none), or `nil` when it equals the name.
    public var label: String?
    /// The parameter name.
    public var name: String
    /// The type.
    public var type: String
    /// The default value expression.
    public var defaultValue: String?

    /// Creates a parameter description.
    public init(label: String? = nil, name: String, type: String, defaultValue: String? = nil) {
        self.label = label
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
    }
}

/// A function or initializer.
public struct FunctionDescription: Sendable, Hashable {
    /// Access level.
    public var access: AccessModifier
    /// Whether it is `static`.
    public var isStatic: Bool
    /// The name, or `init` for an initializer.
    public var name: String
    /// Generic parameters, e.g. `Result: Sendable`.
    public var genericParameters: [String]
    /// Parameters.
    public var parameters: [ParameterDescription]
    /// `async`, `throws`, … in order.
    public var effects: [String]
    /// The return type.
    public var returnType: String?
    /// The body.
    public var body: [CodeBlock]
    /// Whether this is a protocol requirement (rendered without a body).
    public var isRequirement: Bool

    /// Creates a function description.
    public init(access: AccessModifier, isStatic: Bool = false, name: String, genericParameters: [String] = [], parameters: [ParameterDescription] = [], effects: [String] = [], returnType: String? = nil, body: [CodeBlock]) {
        self.access = access
        self.isStatic = isStatic
        self.name = name
        self.genericParameters = genericParameters
        self.parameters = parameters
        self.effects = effects
        self.returnType = returnType
        self.body = body
        self.isRequirement = false
    }
}

/// An enum case.
public struct EnumCaseDescription: Sendable, Hashable {
    /// The (already escaped) case name.
    public var name: String
    /// The raw value literal (a Swift string literal), if any.
    public var rawValue: String?
    /// Associated value types.
    public var associatedValues: [String]

    /// Creates a case description.
    public init(name: String, rawValue: String? = nil, associatedValues: [String] = []) {
        self.name = name
        self.rawValue = rawValue
        self.associatedValues = associatedValues
    }
}

/// A statement of a body: a line, or a braced block whose contents are indented.
public indirect enum CodeBlock: Sendable, Hashable {
    /// One line.
    case line(String)
    /// `opening` (ending in `{`), the indented body, then `closing` (usually `}`).
    case block(String, [CodeBlock], closing: String = "}")
}

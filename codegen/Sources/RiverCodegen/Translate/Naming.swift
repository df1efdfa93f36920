/// How schema names become Swift identifiers.
///
/// Names are split into words at every character that cannot appear in a Swift identifier
/// (`$kind` → `kind`, `data-3` → `data3`, `DIV_BY_ZERO` → `divByZero`); keywords are escaped
/// with backticks (`` `default` ``), and the few names backticks cannot rescue get a trailing
/// underscore (`self_`). Non-ASCII characters are spelled by their code (`😀` → `u1F600`).
/// Collisions (including names that differ only in case) get `_2`, `_3`, … in schema order.
public enum Naming {
    /// Swift keywords that need backticks as member names.
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
        "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default",
        "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch",
        "where", "while", "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true",
        "try", "package", "_",
    ]

    /// Member names that backticks do not make usable (`x.self`, `init`, …): they get a `_` suffix.
    static let unusableMemberNames: Set<String> = ["self", "Self", "init", "deinit", "subscript", "super", "Type", "Protocol", "_"]

    /// Type names generated types must not take, because generated code refers to the
    /// standard, Foundation or River type of that name, or because Swift gives them meaning.
    public static let reservedTypeNames: Set<String> = [
        "Any", "AnyObject", "Array", "Bool", "Codable", "CodingKey", "CodingKeys", "Data", "Date", "Decodable",
        "Decoder", "DecodingError", "Dictionary", "Double", "Encodable", "Encoder", "EncodingError", "Equatable",
        "Error", "Foundation", "Hashable", "Int", "Never", "Optional", "Protocol", "Result", "Self", "Sendable",
        "String", "Swift", "Type", "River", "RiverClient", "RiverServiceError", "RiverValue", "CallOptions",
        "RequestWriter", "ResponseStream", "RPCProcedure", "UploadProcedure", "SubscriptionProcedure",
        "StreamProcedure", "Indirect", "DiscriminatorKey", "HandshakeMetadata", "RiverBigInt", "CaseIterable", "Set",
        "Int64", "ClientProtocol",
    ]

    /// Splits a name into words: at characters that cannot be part of an identifier, and at
    /// lower-to-upper case changes. Each non-ASCII scalar (`é`, `😀`) becomes a word of its own,
    /// spelled `u` and its hexadecimal code (`u1F600`), so such names stay distinct and ASCII.
    static func words(_ name: String) -> [String] {
        var words: [String] = []
        var current = ""
        for scalar in name.unicodeScalars {
            if !scalar.isASCII {
                if !current.isEmpty { words.append(current); current = "" }
                // Joiners and variation selectors only shape the glyph.
                if scalar.value == 0x200D || (0xFE00...0xFE0F).contains(scalar.value) { continue }
                words.append("u" + String(scalar.value, radix: 16, uppercase: true))
                continue
            }
            let character = Character(scalar)
            guard character.isLetter || character.isNumber else {
                if !current.isEmpty { words.append(current); current = "" }
                continue
            }
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The words of a name joined in `UpperCamelCase`, all-caps words capitalized (`DIV_BY_ZERO`
    /// → `DivByZero`); empty names become `Value`.
    static func camelCase(_ name: String) -> String {
        var result = ""
        for word in words(name) {
            let isAllCaps = word.allSatisfy { !$0.isLetter || $0.isUppercase }
            let rest = word.dropFirst()
            result += word.prefix(1).uppercased() + (isAllCaps ? rest.lowercased() : String(rest))
        }
        return result.isEmpty ? "Value" : result
    }

    /// `UpperCamelCase` for type names: `echoWithPrefix` → `EchoWithPrefix`, `DIV_BY_ZERO` →
    /// `DivByZero`, `data-3` → `Data3`. Never empty; a leading digit gets a `T` prefix (`123` →
    /// `T123`), so that the type never equals the member made from the same name (`_123`).
    public static func typeName(_ name: String) -> String {
        let result = camelCase(name)
        if let first = result.first, first.isNumber { return "T" + result }
        return result
    }

    /// `lowerCamelCase` for member names, not yet escaped: `$kind` → `kind`, `Type` → `type`,
    /// `DIV_BY_ZERO` → `divByZero`; a leading digit gets a `_` prefix (`2fast` → `_2fast`).
    public static func memberName(_ name: String) -> String {
        let upper = camelCase(name)
        if let first = upper.first, first.isNumber { return "_" + upper }
        // Lowercase the leading capital run, keeping the last capital of a run that starts a word
        // (`URLValue` → `urlValue`).
        let characters = Array(upper)
        var index = 0
        while index < characters.count, characters[index].isUppercase { index += 1 }
        if index > 1, index < characters.count, characters[index].isLowercase { index -= 1 }
        return String(characters[..<index]).lowercased() + String(characters[index...])
    }

    /// Escapes a member name for use in declarations and expressions.
    public static func escaped(_ member: String) -> String {
        keywords.contains(member) ? "`\(member)`" : member
    }

    /// A member name usable in generated code, before collision handling.
    public static func legalMemberName(_ name: String) -> String {
        let member = memberName(name)
        return unusableMemberNames.contains(member) ? member + "_" : member
    }

    /// `base`, or `base_2`, `base_3`, … whichever is not yet in `taken`; inserts the result.
    public static func unique(_ base: String, in taken: inout Set<String>) -> String {
        var candidate = base
        var counter = 2
        while taken.contains(candidate) {
            candidate = suffixed(base, counter)
            counter += 1
        }
        taken.insert(candidate)
        return candidate
    }

    /// `base_2`, or `self_2` rather than `self__2` when the base already ends in `_`.
    static func suffixed(_ base: String, _ counter: Int) -> String {
        base.hasSuffix("_") ? "\(base)\(counter)" : "\(base)_\(counter)"
    }

    /// Like ``unique(_:in:)``, but also avoiding names that differ only in case from a taken
    /// one, for names that become file names (case-insensitive file systems).
    public static func uniqueIgnoringCase(_ base: String, in taken: inout Set<String>) -> String {
        let lowercased = Set(taken.map { $0.lowercased() })
        var candidate = base
        var counter = 2
        while lowercased.contains(candidate.lowercased()) {
            candidate = suffixed(base, counter)
            counter += 1
        }
        taken.insert(candidate)
        return candidate
    }

    /// Whether `name` can name a generated type as it is: an ASCII identifier that is not a
    /// keyword or a reserved type name.
    public static func isUsableTypeName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" else { return false }
        let valid = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        return valid && !keywords.contains(name) && !reservedTypeNames.contains(name)
    }

    /// A Swift string literal for `text`.
    public static func stringLiteral(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

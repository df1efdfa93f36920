public import SwiftProtobuf

/// Swift names for protobuf declarations, following protoc-gen-swift's conventions so that
/// generated clients name the message types swift-protobuf generates.
///
/// Messages: the file's `swift_prefix` option, or the package's components in UpperCamelCase
/// joined by `_` (`river.test` → `River_Test_`), then the message name, nested messages
/// joined by `.` (`Outer.Inner`).
public enum SwiftNaming {
    /// The prefix of the types generated for `file`.
    public static func typePrefix(of file: Google_Protobuf_FileDescriptorProto) -> String {
        if file.options.hasSwiftPrefix { return file.options.swiftPrefix }
        guard !file.package.isEmpty else { return "" }
        return file.package.split(separator: ".").map { upperCamelCase(String($0)) }.joined(separator: "_") + "_"
    }

    /// `snake_case` or `lowerCamel` → `UpperCamelCase` (`v1` → `V1`, `foo_bar` → `FooBar`).
    public static func upperCamelCase(_ name: String) -> String {
        name.split(separator: "_").map { part in part.prefix(1).uppercased() + part.dropFirst() }.joined()
    }

    /// A method name as a Swift function name: the leading run of capitals lowered, keeping
    /// the last one of a run followed by lowercase (`Echo` → `echo`, `GetURL` → `getURL`,
    /// `URLFetch` → `urlFetch`), escaped with backticks when it is a keyword.
    public static func functionName(_ methodName: String) -> String {
        let characters = Array(methodName)
        var leadingCapitals = 0
        while leadingCapitals < characters.count, characters[leadingCapitals].isUppercase { leadingCapitals += 1 }
        var lowered = leadingCapitals
        if leadingCapitals > 1, leadingCapitals < characters.count, characters[leadingCapitals].isLowercase {
            lowered -= 1
        }
        let name = String(characters[..<lowered]).lowercased() + String(characters[lowered...])
        return swiftKeywords.contains(name) ? "`\(name)`" : name
    }

    /// Words that cannot be a bare Swift function name.
    static let swiftKeywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows", "static", "struct",
        "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do", "else", "fallthrough",
        "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while", "as", "catch", "false", "is", "nil",
        "super", "self", "Self", "throw", "throws", "true", "try", "package", "some", "any",
    ]
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A structural check of a PEM file, so that a missing or garbled TLS file is reported when a
/// connector is created instead of surfacing later as a vague TLS failure (libwebsockets loads
/// the files only when the first connection opens).
///
/// The check reads the file and looks for at least one `-----BEGIN ...-----` block of the
/// expected kind whose body is valid base64. It does not verify the certificate or key itself
/// (OpenSSL does that when the files are loaded).
enum PEMFile {
    /// What a file must contain.
    enum Kind {
        /// `CERTIFICATE` blocks (a CA bundle or a certificate chain).
        case certificate
        /// A private key (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`).
        case privateKey

        var name: String {
            switch self {
            case .certificate: "certificate"
            case .privateKey: "private key"
            }
        }

        func matches(label: Substring) -> Bool {
            switch self {
            case .certificate: label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE"
            case .privateKey: label.hasSuffix("PRIVATE KEY")
            }
        }
    }

    /// The first unusable file among `files`, described as "the <what> <path> <problem>", with
    /// the description without the path; `nil` when every configured file is usable.
    static func firstProblem(in files: [(what: String, path: String?, kind: Kind)]) -> (message: String, detail: String)? {
        for case let (what, path?, kind) in files {
            if let problem = problem(atPath: path, expecting: kind) {
                return ("the \(what) \(path) \(problem)", "the \(what) \(problem)")
            }
        }
        return nil
    }

    /// Why the file at `path` is unusable (for example "cannot be read"), or `nil` when it holds
    /// a well-formed PEM block of `kind`.
    static func problem(atPath path: String, expecting kind: Kind) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return "cannot be read" }
        let text = String(decoding: data, as: UTF8.self)
        var rest = Substring(text)
        while let begin = rest.firstRange(of: "-----BEGIN ") {
            guard let labelEnd = rest[begin.upperBound...].firstRange(of: "-----") else { break }
            let label = rest[begin.upperBound..<labelEnd.lowerBound]
            guard let end = rest[labelEnd.upperBound...].firstRange(of: "-----END \(label)-----") else {
                return "has a PEM block (\(label)) without its END line"
            }
            if kind.matches(label: label) {
                let body = rest[labelEnd.upperBound..<end.lowerBound]
                    .split(whereSeparator: \.isNewline)
                    .filter { !$0.contains(":") }  // headers of legacy encrypted keys
                    .joined()
                if Data(base64Encoded: body) != nil, !body.isEmpty { return nil }
                return "has a \(kind.name) block that is not valid base64"
            }
            rest = rest[end.upperBound...]
        }
        return "holds no PEM \(kind.name)"
    }
}

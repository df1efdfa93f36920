/// The W3C Trace Context `traceparent` header's syntax
/// (`version-traceid-parentid-flags`, https://www.w3.org/TR/trace-context/#traceparent-header).
enum W3CTraceparent {
    /// Whether `value` is a well-formed `traceparent`: version 2 hex digits (not `ff`), trace id
    /// 32 and parent id 16 lowercase hex digits (not all zeros), flags 2 hex digits. Version
    /// `00` has exactly these four fields; later versions may append more.
    static func isValid(_ value: String) -> Bool {
        let fields = value.split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count >= 4 else { return false }
        let (version, traceID, parentID, flags) = (fields[0], fields[1], fields[2], fields[3])
        guard isHex(version, count: 2), version != "ff", isHex(traceID, count: 32), isHex(parentID, count: 16), isHex(flags, count: 2)
        else { return false }
        if version == "00" && fields.count != 4 { return false }
        return traceID.contains { $0 != "0" } && parentID.contains { $0 != "0" }
    }

    private static func isHex(_ field: Substring, count: Int) -> Bool {
        field.utf8.count == count && field.utf8.allSatisfy { (48 ... 57).contains($0) || (97 ... 102).contains($0) }
    }
}

/// Collects an HTTP message head (the start line and headers, up to the blank line) from bytes
/// that arrive in pieces, for both sides of the WebSocket opening handshake.
package struct HTTPHeadReader {
    /// What the bytes so far come to.
    package enum Progress: Equatable {
        /// The blank line has not arrived yet.
        case incomplete
        /// The head, as text, and how many bytes of the last piece belonged to it (the rest
        /// are already the next protocol's).
        case complete(head: String, consumed: Int)
        /// The head is longer than the limit (whether or not its end arrived).
        case tooLarge
    }

    private let maximumSize: Int
    private var bytes: [UInt8] = []

    /// - Parameter maximumSize: The most the head may take, in bytes.
    package init(maximumSize: Int) {
        self.maximumSize = maximumSize
    }

    /// Takes the next piece.
    package mutating func append(_ piece: UnsafeRawBufferPointer) -> Progress {
        let before = bytes.count
        bytes.append(contentsOf: piece)
        // Look for CRLF CRLF, starting 3 bytes back in case it straddles two pieces.
        var end: Int?
        var index = max(0, before - 3)
        while index + 3 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 {
                end = index + 4
                break
            }
            index += 1
        }
        if (end ?? bytes.count) > maximumSize {
            bytes = []
            return .tooLarge
        }
        guard let end else { return .incomplete }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        bytes = []
        return .complete(head: head, consumed: end - before)
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view.removeFirst() }
        while let last = view.last, last == " " || last == "\t" { view.removeLast() }
        return String(view)
    }
}

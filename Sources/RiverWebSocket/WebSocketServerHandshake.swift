/// The server's side of the WebSocket opening handshake (RFC 6455 §4.2), as a plain value: a
/// client's upgrade request fed in as it arrives until it is complete, then the answer to write:
/// `101 Switching Protocols`, or a refusal after which the connection closes.
package struct WebSocketServerHandshake {
    /// An upgrade request that opens the WebSocket.
    package struct Request: Equatable {
        /// The request target (path and query), for example `/river?client=swift`.
        package var path: String
        /// Every header, names lowercased, values trimmed, in order.
        package var headers: [(name: String, value: String)]
        /// The client's `Sec-WebSocket-Key`.
        package var key: String

        package static func == (lhs: Request, rhs: Request) -> Bool {
            lhs.path == rhs.path && lhs.key == rhs.key && lhs.headers.elementsEqual(rhs.headers) { $0 == $1 }
        }
    }

    /// How the request ended the handshake.
    package enum Outcome: Equatable {
        /// The request's header block is not complete yet.
        case incomplete
        /// A valid upgrade request: answer with ``acceptResponse(for:)``; the first `consumed`
        /// bytes of the last input were the request, the rest are already frames.
        case upgrade(Request, consumed: Int)
        /// Not a WebSocket upgrade this server takes: write `response`, then close. `reason`
        /// says why, for the log.
        case refused(response: [UInt8], reason: String)
    }

    private var request = HTTPHeadReader(maximumSize: WebSocketServerHandshake.maximumRequestSize)
    private var finished = false

    /// The most a request's line and headers may take.
    package static let maximumRequestSize = 16 * 1024

    package init() {}

    /// The `101 Switching Protocols` answer to `request`.
    package static func acceptResponse(for request: Request) -> [UInt8] {
        let accept = WebSocketClientHandshake.acceptValue(forKey: request.key)
        return Array(
            ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(accept)\r\n\r\n").utf8)
    }

    /// Takes the next bytes of the client's request.
    /// - Returns: ``Outcome/incomplete`` until the blank line that ends the headers arrived, then
    ///   the verdict (once).
    package mutating func receive(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        guard !finished else { return refuse(400, "Bad Request", "the handshake already ended") }
        switch request.append(bytes) {
        case .incomplete:
            return .incomplete
        case .tooLarge:
            finished = true
            return refuse(431, "Request Header Fields Too Large", "the request headers exceed \(Self.maximumRequestSize) bytes")
        case .complete(let head, let consumed):
            finished = true
            return check(head, consumed: consumed)
        }
    }

    private func check(_ head: String, consumed: Int) -> Outcome {
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: true).makeIterator()
        let requestLine = lines.next() ?? ""
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
            return refuse(400, "Bad Request", "not an HTTP request: \(String(requestLine.prefix(80)).debugDescription)")
        }
        guard parts[0] == "GET" else {
            return refuse(405, "Method Not Allowed", "the method is \(parts[0]), not GET", extra: "Allow: GET\r\n")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else {
                return refuse(400, "Bad Request", "a header line has no colon")
            }
            let name = line[..<colon].trimmingWhitespace().lowercased()
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            headers.append((name, value))
        }
        func header(_ name: String) -> String? {
            let values = headers.filter { $0.name == name }.map(\.value)
            return values.isEmpty ? nil : values.joined(separator: ", ")
        }
        guard header("upgrade")?.lowercased() == "websocket",
            header("connection")?.lowercased().split(separator: ",").contains(where: { $0.trimmingWhitespace() == "upgrade" }) == true
        else {
            return refuse(426, "Upgrade Required", "not a WebSocket upgrade request", extra: "Upgrade: websocket\r\nConnection: Upgrade\r\n")
        }
        guard header("sec-websocket-version") == "13" else {
            return refuse(426, "Upgrade Required", "WebSocket version \(header("sec-websocket-version") ?? "none"), not 13",
                          extra: "Sec-WebSocket-Version: 13\r\n")
        }
        guard let key = header("sec-websocket-key"), !key.isEmpty, !key.contains(",") else {
            return refuse(400, "Bad Request", "no single Sec-WebSocket-Key")
        }
        return .upgrade(Request(path: String(parts[1]), headers: headers, key: key), consumed: consumed)
    }

    private func refuse(_ status: Int, _ text: String, _ reason: String, extra: String = "") -> Outcome {
        let response = "HTTP/1.1 \(status) \(text)\r\n\(extra)Connection: close\r\nContent-Length: 0\r\n\r\n"
        return .refused(response: Array(response.utf8), reason: reason)
    }
}

import River
import RiverTestServer
import Testing

@Suite("Server procedures")
struct ServerProcedureTests {
    @Test(arguments: ServerTestCodec.allCases)
    func rpcAddKeepsRunningTotal(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { _, harness in
            let (client, _) = try await connectedClient(harness)
            let first = try client.open("test", "add", initPayload: ["n": 3], closed: true)
            let response = try await client.nextMessage()
            #expect(response.streamId == first)
            #expect(response.controlFlags == .streamClosed)
            #expect(response.seq == 0 && response.ack == 1)
            #expect(response.serviceName == nil && response.procedureName == nil)
            #expect(response.payload == ok(["result": 3]))

            // Another session sees the same server-wide total.
            let (other, _) = try await connectedClient(harness)
            try other.open("test", "add", initPayload: ["n": 4.5], closed: true)
            #expect(try await other.nextMessage().payload == ok(["result": 7.5]))
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func streamEchoClosesBothWays(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { server, harness in
            let (client, _) = try await connectedClient(harness)
            let stream = try client.open("test", "echo", closed: false)
            try client.send(stream: stream, payload: ["msg": "a"])
            try client.send(stream: stream, payload: ["msg": "b"])
            try client.send(stream: stream, payload: ["msg": "c", "ignore": true])
            try client.close(stream: stream)
            let a = try await client.nextMessage()
            #expect(a.streamId == stream && a.controlFlags == [] && a.payload == ok(["response": "a"]))
            let b = try await client.nextMessage()
            #expect(b.controlFlags == [] && b.payload == ok(["response": "b"]))
            let close = try await client.nextMessage()
            #expect(close.streamId == stream && close.controlFlags == .streamClosed && close.payload == ["type": "CLOSE"])
            try await waitUntil("the stream is gone") { server.openStreamCount == 0 }
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func echoWithPrefixAndBinaryAndRecursive(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { _, harness in
            let (client, _) = try await connectedClient(harness)
            let stream = try client.open("test", "echoWithPrefix", initPayload: ["prefix": "p"], closed: false)
            try client.send(stream: stream, payload: ["msg": "x"])
            #expect(try await client.nextMessage().payload == ok(["response": "p x"]))
            try client.close(stream: stream)
            #expect(try await client.nextMessage().payload == ["type": "CLOSE"])

            try client.open("test", "echoBinary", initPayload: ["data": .bytes([0, 1, 2, 255])], closed: true)
            #expect(try await client.nextMessage().payload == ok(["data": .bytes([0, 1, 2, 255]), "length": 4]))

            let tree: RiverValue = ["value": "root", "children": [["value": "leaf"], ["value": "mid", "children": []]]]
            try client.open("test", "echoRecursive", initPayload: tree, closed: true)
            #expect(try await client.nextMessage().payload == ok(tree))
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func uploadAnswersOnceWithClosedBit(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { _, harness in
            let (client, _) = try await connectedClient(harness)
            let stream = try client.open("uploadable", "addMultiple", closed: false)
            for n in 1...3 { try client.send(stream: stream, payload: ["n": .int(Int64(n))]) }
            try client.close(stream: stream)
            let result = try await client.nextMessage()
            #expect(result.streamId == stream && result.controlFlags == .streamClosed && result.payload == ok(["result": 6]))

            // No separate CLOSE follows: the next message answers the next call.
            let prefixed = try client.open("uploadable", "addMultipleWithPrefix", initPayload: ["prefix": "total"], closed: false)
            try client.send(stream: prefixed, payload: ["n": 1.5])
            try client.close(stream: prefixed)
            let next = try await client.nextMessage()
            #expect(next.streamId == prefixed && next.payload == ok(["result": "total 1.5"]))
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func cancellableAddCancelsFromServer(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { _, harness in
            let (client, _) = try await connectedClient(harness)
            let stream = try client.open("uploadable", "cancellableAdd", closed: false)
            try client.send(stream: stream, payload: ["n": 4])
            try client.send(stream: stream, payload: ["n": 6])
            let cancel = try await client.nextMessage()
            #expect(cancel.controlFlags == .streamCancel)
            #expect(cancel.payload == err("CANCEL", "total exceeds limit"))
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func subscriptionThenClientCancel(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { server, harness in
            let (client, _) = try await connectedClient(harness)
            let subscription = try client.open("subscribable", "value", closed: true)
            let initial = try await client.nextMessage()
            #expect(initial.streamId == subscription && initial.controlFlags == [] && initial.payload == ok(["count": 0]))

            let add = try client.open("subscribable", "add", initPayload: ["n": 5], closed: true)
            let update = try await client.nextMessage()
            #expect(update.streamId == subscription && update.payload == ok(["count": 5]))
            let result = try await client.nextMessage()
            #expect(result.streamId == add && result.controlFlags == .streamClosed && result.payload == ok(["result": 5]))

            try client.cancel(stream: subscription)
            let close = try await client.nextMessage()
            #expect(close.streamId == subscription && close.controlFlags == .streamClosed && close.payload == ["type": "CLOSE"])
            try await waitUntil("the subscription is gone") { server.openStreamCount == 0 }

            // The cancelled subscriber no longer receives updates.
            let again = try client.open("subscribable", "add", initPayload: ["n": 1], closed: true)
            let next = try await client.nextMessage()
            #expect(next.streamId == again && next.payload == ok(["result": 6]))
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func cancelledRpcSendsNothing(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { server, harness in
            let (client, _) = try await connectedClient(harness)
            let blocking = try client.open("cancel", "blockingRpc", closed: true)
            try await waitUntil("the rpc is open") { server.openStreamCount == 1 }
            try client.cancel(stream: blocking)
            let probe = try client.open("cancel", "immediateRpc", closed: true)
            let next = try await client.nextMessage()
            #expect(next.streamId == probe, "nothing is sent on a cancelled rpc")
            #expect(next.payload == ok(["done": true]))
            #expect(server.openStreamCount == 0)
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func cancelledStreamSendsClose(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { _, harness in
            let (client, _) = try await connectedClient(harness)
            let blocking = try client.open("cancel", "blockingStream", closed: false)
            try client.cancel(stream: blocking)
            let close = try await client.nextMessage()
            #expect(close.streamId == blocking && close.controlFlags == .streamClosed && close.payload == ["type": "CLOSE"])
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func countedAndImmediateProcedures(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { _, harness in
            let (client, _) = try await connectedClient(harness)
            let counted = try client.open("cancel", "countedStream", initPayload: ["total": 3], closed: false)
            for i in 0..<3 { #expect(try await client.nextMessage().payload == ok(["i": .int(Int64(i))])) }
            try client.close(stream: counted)
            #expect(try await client.nextMessage().payload == ["type": "CLOSE"])

            let subscription = try client.open("cancel", "immediateSubscription", closed: true)
            #expect(try await client.nextMessage().payload == ok(["done": true]))
            let close = try await client.nextMessage()
            #expect(close.streamId == subscription && close.controlFlags == .streamClosed)

            let upload = try client.open("cancel", "immediateUpload", closed: false)
            try client.close(stream: upload)
            let done = try await client.nextMessage()
            #expect(done.controlFlags == .streamClosed && done.payload == ok(["done": true]))
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func orderingAddAndGetAll(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { _, harness in
            let (client, _) = try await connectedClient(harness)
            for n in [1, 2, 3] as [Int64] {
                try client.open("ordering", "add", initPayload: ["n": .int(n)], closed: true)
            }
            for n in [1, 2, 3] as [Int64] { #expect(try await client.nextMessage().payload == ok(["n": .int(n)])) }
            try client.open("ordering", "getAll", closed: true)
            #expect(try await client.nextMessage().payload == ok(["msgs": [1, 2, 3]]))
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func fallibleDivideAndEcho(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { server, harness in
            let (client, _) = try await connectedClient(harness)
            try client.open("fallible", "divide", initPayload: ["a": 1, "b": 0], closed: true)
            let byZero = try await client.nextMessage()
            #expect(byZero.controlFlags == .streamClosed)
            #expect(byZero.payload == err("DIV_BY_ZERO", "Cannot divide by zero"))

            try client.open("fallible", "divide", initPayload: ["a": 1e308, "b": 1e-308], closed: true)
            #expect(try await client.nextMessage().payload == err("INFINITY", "Result is infinity"))

            try client.open("fallible", "divide", initPayload: ["a": 9, "b": 3], closed: true)
            #expect(try await client.nextMessage().payload == ok(["result": 3]))

            let echo = try client.open("fallible", "echo", closed: false)
            try client.send(stream: echo, payload: ["msg": "soft", "throwResult": true])
            let soft = try await client.nextMessage()
            #expect(soft.controlFlags == [] && soft.payload == err("STREAM_ERROR", "stream error"))
            try client.send(stream: echo, payload: ["msg": "boom", "throwError": true])
            let thrown = try await client.nextMessage()
            #expect(thrown.streamId == echo && thrown.controlFlags == .streamCancel)
            #expect(thrown.payload == err("UNCAUGHT_ERROR", "uncaught error"))
            #expect(server.openStreamCount == 0)

            // The cancelled stream is tombstoned: later messages on it are ignored.
            try client.send(stream: echo, payload: ["msg": "late"])
            let probe = try client.open("cancel", "immediateRpc", closed: true)
            #expect(try await client.nextMessage().streamId == probe)
        }
    }

    @Test(arguments: ServerTestCodec.allCases)
    func invalidRequests(codec: ServerTestCodec) async throws {
        try await withTestServer(codec) { _, harness in
            let (client, _) = try await connectedClient(harness)
            let cases: [(service: String, procedure: String, initPayload: RiverValue, message: String)] = [
                ("nope", "missing", [:], "couldn't find service nope"),
                ("test", "missing", [:], "couldn't find a matching procedure for test.missing"),
                ("test", "add", ["n": "x"], "procedure init failed validation"),
            ]
            for item in cases {
                let stream = try client.open(item.service, item.procedure, initPayload: item.initPayload, closed: true)
                let cancel = try await client.nextMessage()
                #expect(cancel.streamId == stream && cancel.controlFlags == .streamCancel)
                #expect(cancel.payload == err("INVALID_REQUEST", item.message), "no extras for \(item.message)")
            }

            let echo = try client.open("test", "echo", closed: false)
            try client.send(stream: echo, payload: ["msg": 42])
            let cancel = try await client.nextMessage()
            #expect(cancel.streamId == echo && cancel.controlFlags == .streamCancel)
            #expect(
                cancel.payload
                    == err(
                        "INVALID_REQUEST", "message in requestData position did not match schema",
                        extras: ["totalErrors": 1, "firstValidationErrors": [["path": "/msg", "message": "must be string"]]]))

            let missing = try client.open("uploadable", "addMultiple", closed: false)
            try client.send(stream: missing, payload: ["m": 1])
            #expect(
                try await client.nextMessage().payload
                    == err(
                        "INVALID_REQUEST", "message in requestData position did not match schema",
                        extras: ["totalErrors": 1, "firstValidationErrors": [["path": "", "message": "must have required properties n"]]]))

            // A message for a stream that was never opened.
            let stray = RiverID.generate()
            try client.send(stream: stray, payload: ["msg": "x"])
            #expect(
                try await client.nextMessage().payload
                    == err("INVALID_REQUEST", "can't create a new procedure stream from a message that doesn't have the stream open bit set"))
        }
    }
}

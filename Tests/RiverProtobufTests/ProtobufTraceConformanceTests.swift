import River
import RiverProtobuf
import RiverProtobufTestService
import RiverTestServer
import RiverTesting
import SwiftProtobuf
import Testing

/// The frames this client and the Swift test server write, against the recordings of River's
/// official protobuf client and server doing the same calls: the same fields in the same
/// order, flags, names, seqs and payloads (ids, stream and session ids are random; acks
/// depend on timing).
@Suite(.timeLimit(.minutes(2))) struct ProtobufTraceConformanceTests {
    /// What a recording's client did, redone with this client. Returns a description of the
    /// client's results, checked against the recording's `clientResult`.
    static func drive(_ scenario: String, _ test: River_Test_TestService.Client) async throws -> [String] {
        func echo(_ text: String) async -> String {
            do {
                return "ok:" + (try await test.echo(.with { $0.text = text })).text
            } catch let error as ProtobufRPCError {
                // This client's UNEXPECTED_DISCONNECT names its cause (here the rejection's wire
                // code) where the reference says only "SERVER unexpectedly disconnected": the
                // code is compared, and the message must name the wire code.
                if error.code.rawValue == "UNEXPECTED_DISCONNECT" {
                    return error.message.contains("REJECTED_BY_CUSTOM_HANDLER") ? "err:UNEXPECTED_DISCONNECT" : "err:\(error.code):\(error.message)"
                }
                return "err:\(error.code):\(error.message)"
            } catch {
                return "other:\(error)"
            }
        }
        switch scenario {
        case "echo": return [await echo("hello")]
        case "echo-empty": return [await echo("")]
        case "echo-error": return [await echo("boom")]
        case "echo-server-cancel": return [await echo("cancel")]
        case "echo-throw": return [await echo("throw")]
        case "handshake-metadata": return [await echo("hi")]
        case "handshake-rejected": return [await echo("hi")]
        case "unimplemented":
            do {
                _ = try await test.river.unary(
                    ProtobufUnaryMethod<River_Test_EchoRequest, River_Test_EchoResponse>(service: River_Test_TestService.serviceName, method: "Missing"),
                    .with { $0.text = "x" })
                return ["ok"]
            } catch let error as ProtobufRPCError {
                return ["err:\(error.code):\(error.message)"]
            }
        case "countup":
            return try await test.countUp(.with { $0.limit = 3 }) { responses in
                var values: [String] = []
                for try await response in responses { values.append("ok:\(response.value)") }
                return values
            }
        case "sum":
            let total = try await test.sum { writer in
                for value in [1, 2, 3] as [UInt32] { try await writer.write(.with { $0.value = value }) }
            }
            return ["ok:\(total.total)"]
        case "sum-client-cancel":
            // Like the recording, cancel once connected (a call cancelled before the handshake
            // never reaches the wire).
            let events = test.river.events()
            test.river.connect()
            for await event in events {
                if case .connectionStatus(.connected) = event { break }
            }
            let error = await protobufError {
                _ = try await test.sum { writer in
                    try await writer.write(.with { $0.value = 1 })
                    writer.cancel()
                }
            }
            return ["err:\(error?.code.rawValue ?? "none"):\(error?.message ?? "")"]
        case "chat", "chat-error", "chat-client-cancel":
            return try await test.chat { writer, responses in
                var results: [String] = []
                var iterator = responses.makeAsyncIterator()
                let texts = scenario == "chat" ? ["hello", "world"] : scenario == "chat-error" ? ["hello", "boom"] : ["hello"]
                for text in texts { try await writer.write(.with { $0.text = text }) }
                if scenario == "chat-client-cancel" {
                    if let first = try await iterator.next() { results.append("ok:\(first.text)") }
                    writer.cancel()
                    do {
                        _ = try await iterator.next()
                    } catch let error as ProtobufRPCError {
                        results.append("err:\(error.code):\(error.message)")
                    }
                    return results
                }
                try await writer.finish()
                while true {
                    do {
                        guard let response = try await iterator.next() else { break }
                        results.append("ok:\(response.text)")
                    } catch let error as ProtobufRPCError {
                        results.append("err:\(error.code):\(error.message)")
                    }
                }
                return results
            }
        default:
            Issue.record("no driver for \(scenario)")
            return []
        }
    }

    /// The recording's `clientResult`, in the same notation.
    static func expectedResults(_ scenario: String) throws -> [String] {
        let meta = try ProtoTraceFixtures.meta(scenario)
        let results = (meta["clientResult"] as? [[String: Any]]) ?? [meta["clientResult"] as? [String: Any] ?? [:]]
        return results.map { result in
            let payload = result["payload"] as? [String: Any] ?? [:]
            if result["ok"] as? Bool == true {
                let value = payload["text"] ?? payload["value"] ?? payload["total"] ?? ""
                return "ok:\(value)"
            }
            if payload["code"] as? String == "UNEXPECTED_DISCONNECT" { return "err:UNEXPECTED_DISCONNECT" }
            return "err:\(payload["code"] ?? ""):\(payload["message"] ?? "")"
        }
    }

    static let scenarios = [
        "echo", "echo-empty", "echo-error", "echo-server-cancel", "echo-throw", "unimplemented", "countup", "sum",
        "sum-client-cancel", "chat", "chat-error", "chat-client-cancel", "handshake-metadata", "handshake-rejected",
    ]

    @Test(arguments: scenarios)
    func framesMatchTheRecording(_ scenario: String) async throws {
        let meta = try ProtoTraceFixtures.meta(scenario)
        let clientID = try #require(meta["clientId"] as? String)
        let handshake = scenario.hasPrefix("handshake")
        let (results, frames) = try await withRecordedProtobufClient(
            clientID: clientID, mode: handshake ? .protobufHandshake : .protobuf,
            configure: { configuration in
                guard handshake else { return }
                let token = scenario == "handshake-rejected" ? "bad-token" : RiverTestServer.protobufValidToken
                configuration.handshakeMetadata = ProtobufHandshake.metadata { River_Test_AuthHandshake.with { $0.token = token } }
            },
            body: { try await Self.drive(scenario, $0) })
        #expect(results == (try Self.expectedResults(scenario)))

        let recorded = try ProtoTraceFixtures.frames(scenario)
        for fromClient in [true, false] {
            let ours = frames.filter { $0.fromClient == fromClient }.map(\.bytes)
            let theirs = recorded.filter { $0.fromClient == fromClient }.map(\.bytes)
            #expect(ours.count == theirs.count, "\(fromClient ? "client" : "server") frame count")
            for (index, (mine, reference)) in zip(ours, theirs).enumerated() {
                try Self.expectSameShape(mine, reference, "\(scenario) \(fromClient ? "client" : "server") frame \(index)")
            }
        }
    }

    /// The same envelope fields (but seq/ack presence, which depends on timing for acks), the
    /// same flags, names, seq and payload; handshakes compare by type and metadata.
    static func expectSameShape(_ mine: [UInt8], _ reference: [UInt8], _ label: String) throws {
        let codec = ProtoCodec()
        let ours = try codec.decode(mine)
        let theirs = try codec.decode(reference)
        let significant = { (fields: [ProtoWire.Field]) in fields.map(\.number).filter { $0 != 5 } }
        #expect(significant(try ProtoWire.fields(mine)) == significant(try ProtoWire.fields(reference)), "\(label): fields")
        #expect(ours.controlFlags == theirs.controlFlags, "\(label): flags")
        #expect(ours.seq == theirs.seq, "\(label): seq")
        #expect(ours.serviceName == theirs.serviceName, "\(label): service")
        #expect(ours.procedureName == theirs.procedureName, "\(label): procedure")
        #expect(ours.tracing == theirs.tracing, "\(label): tracing")
        if case .string(let type)? = theirs.payload["type"], type.hasPrefix("HANDSHAKE_") {
            #expect(ours.payload["type"] == theirs.payload["type"], "\(label): handshake type")
            #expect(ours.payload["status"]?["ok"] == theirs.payload["status"]?["ok"], "\(label): handshake status")
            let metadata = { (value: RiverValue?) -> RiverValue in value ?? .null }
            #expect(metadata(ours.payload["metadata"]) == metadata(theirs.payload["metadata"]), "\(label): metadata")
        } else {
            #expect(ours.payload == theirs.payload, "\(label): payload")
        }
    }

    /// The reference client's hand-built `raw-minimal` frames, sent to the Swift test server
    /// as recorded: it answers each exactly as River's protobuf server did (INVALID_REQUEST for
    /// a msgpack request and an unclosed unary call, UNIMPLEMENTED for a misspelled method, a
    /// non-empty bidi opening payload taken as the first message).
    @Test func theServerAnswersHandBuiltFramesAsTheReferenceDoes() async throws {
        let recorded = try ProtoTraceFixtures.frames("raw-minimal")
        let server = RiverTestServer(
            configuration: .init(codec: ProtoCodec(), mode: .protobuf, timings: .init(heartbeatInterval: .seconds(60))))
        let (client, serverEnd) = InMemoryConnection.makePair()
        let answers = await withTaskGroup(of: Void.self, returning: [[UInt8]].self) { group in
            group.addTask { await server.serve(connection: serverEnd) }
            defer {
                client.close(code: 1000, reason: "")
                group.cancelAll()
            }
            var answers: [[UInt8]] = []
            var events = client.events.makeAsyncIterator()
            // In this recording every client frame is answered by exactly one server frame.
            for frame in recorded where frame.fromClient {
                client.send(frame.bytes)
                guard case .message(let bytes)? = await events.next() else { break }
                answers.append(bytes)
            }
            return answers
        }
        let theirs = recorded.filter { !$0.fromClient }
        #expect(answers.count == theirs.count)
        for (index, (mine, reference)) in zip(answers, theirs.map(\.bytes)).enumerated() {
            try Self.expectSameShape(mine, reference, "raw-minimal server frame \(index)")
            #expect(try ProtoCodec().decode(mine).ack == ProtoCodec().decode(reference).ack)
        }
    }
}

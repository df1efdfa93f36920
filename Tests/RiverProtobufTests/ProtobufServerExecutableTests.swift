import Foundation
import River
import RiverProtobuf
import RiverProtobufTestService
import RiverTestServer
import RiverWebSocket
import SwiftProtobuf
import Synchronization
import Testing

/// `river-test-server --proto` as a process: it serves `river.test.TestService` over
/// WebSocket and takes fault-injection commands on stdin, as in protobuf-less mode.
@Suite(.timeLimit(.minutes(2))) struct ProtobufServerExecutableTests {
    /// The executable next to the test bundle (`swift test` builds every product first).
    static let executable: URL? = {
        var directories = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        return directories.lazy.map { $0.appendingPathComponent("river-test-server") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    @Test func theProtoFlagServesTheTestServiceWithFaultInjection() async throws {
        let binary = try #require(Self.executable, "river-test-server was not built")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--proto", "--exit-on-stdin-eof"]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let printed = Mutex<[UInt8]>([])
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            printed.withLock { $0.append(contentsOf: data) }
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        let replies = Mutex<[UInt8]>([])
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            replies.withLock { $0.append(contentsOf: data) }
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        try process.run()
        defer {
            try? input.fileHandleForWriting.close()
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        var port: Int?
        try await eventually("RIVER_PORT on stdout") {
            let text = String(decoding: printed.withLock { $0 }, as: UTF8.self)
            port = text.split(separator: "\n").first { $0.hasPrefix("RIVER_PORT=") }.flatMap { Int($0.dropFirst(11)) }
            return port != nil
        }
        let url = "ws://127.0.0.1:\(try #require(port))"
        try await withRiverClient(url: url, configuration: RiverClient.Configuration(codec: ProtoCodec(), randomSeed: 3).patient()) { client in
            let test = River_Test_TestService.Client(client)
            let before = try await test.echo(.with { $0.text = "one" })
            #expect(before.text == "ONE")
            // Fault injection: the server drops the connection; the session resumes.
            let events = client.events()
            try input.fileHandleForWriting.write(contentsOf: Data("drop\n".utf8))
            try await eventually("the server to answer the drop command") {
                String(decoding: replies.withLock { $0 }, as: UTF8.self).contains("ok dropped 1")
            }
            for await event in events {
                if case .sessionStatus(.resumed) = event { break }
            }
            let after = try await test.echo(.with { $0.text = "two" })
            #expect(after.text == "TWO")
            let error = await protobufError { _ = try await test.echo(.with { $0.text = "boom" }) }
            #expect(error?.code == .invalidArgument)
        }
    }
}

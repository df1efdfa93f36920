import Foundation
import River
import RiverTestServer
import Testing

@Suite("Server schema")
struct ServerSchemaTests {
    /// Tests/Fixtures/schemas, located from this file.
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/schemas")

    @Test(arguments: [
        (RiverTestServer.Mode.standard, "reference-services.json"),
        (RiverTestServer.Mode.handshake, "reference-services-handshake.json"),
    ])
    func serializedSchemaMatchesReference(mode: RiverTestServer.Mode, file: String) throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent(file))
        let expected = try JSONDecoder().decode(RiverValue.self, from: data)
        let server = RiverTestServer(configuration: .init(codec: JSONCodec(), mode: mode))
        let actual = server.serializedSchema()
        #expect(actual == expected)
        if actual != expected, case .object(let a)? = actual["services"], case .object(let e)? = expected["services"] {
            for (name, service) in e where a[name] != service {
                Issue.record("service \(name) differs")
            }
        }
    }
}

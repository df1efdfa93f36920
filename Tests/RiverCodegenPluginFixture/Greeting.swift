import River

/// Code of the fixture target that uses the types `RiverCodegenBuildPlugin` generated from
/// `fixture.river.json` during the build (they are in no committed file), in the namespace
/// and at the access level `fixture.river-codegen.json` sets. Its API passes JSON
/// payload bytes, so the tests see the generated types only through it.
package enum FixtureGreeting {
    /// The JSON payload of a `greeter.greet` init.
    package static func request(name: String, times: Int?) throws -> [UInt8] {
        try JSONCodec().encodeValue(RiverValueEncoder().encode(FixtureServices.Greeter.Greet.Init(name: name, times: times)))
    }

    /// The greeting and position of a `greeter.greet` response, decoded from its JSON payload.
    package static func response(_ json: [UInt8]) throws -> (greeting: String, x: Double, y: Double) {
        let output = try RiverValueDecoder().decode(FixtureServices.Greeter.Greet.Output.self, from: JSONCodec().decodeValue(json))
        return (output.greeting, output.at.item0, output.at.item1)
    }

    /// The code of a `greeter.greet` service error, decoded from its JSON payload.
    package static func errorCode(_ json: [UInt8]) throws -> String {
        try RiverValueDecoder().decode(FixtureServices.Greeter.Greet.Failure.self, from: JSONCodec().decodeValue(json)).code
    }

    /// Whether the generated `Client` implements the generated `ClientProtocol`.
    package static var clientConformsToItsProtocol: Bool {
        func conforms<T: FixtureServices.Greeter.ClientProtocol>(_: T.Type) -> Bool { true }
        return conforms(FixtureServices.Greeter.Client.self)
    }
}

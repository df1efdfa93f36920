import Testing

@Test func placeholder_RiverIntegrationTests() { #expect(Bool(true)) }

import Testing

@Test func placeholder_RiverWebSocketTests() { #expect(Bool(true)) }

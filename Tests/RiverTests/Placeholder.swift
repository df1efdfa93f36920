import Testing

@Test func placeholder_RiverTests() { #expect(Bool(true)) }

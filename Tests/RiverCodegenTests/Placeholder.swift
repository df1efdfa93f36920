import Testing

@Test func placeholder_RiverCodegenTests() { #expect(Bool(true)) }

extension RiverClient {
    /// Runs `body` with a new ``SubscriptionGroup``: many subscriptions whose results are read
    /// from one sequence of events, without a task per subscription. When `body` returns or
    /// throws, every member left is cancelled (CANCEL goes to its server).
    ///
    /// ```swift
    /// try await client.withSubscriptionGroup(keyedBy: String.self, for: Prices.Watch.procedure) { group in
    ///     try await group.add("AAPL", Prices.Watch.procedure, .init(symbol: "AAPL"))
    ///     for await event in group.events { print(event) }
    /// }
    /// ```
    /// - Parameters:
    ///   - keyedBy: The type of the keys members are added under.
    ///   - for: A subscription procedure whose output and failure types the group's results
    ///     have (its members may call any procedure with these types).
    ///   - body: Adds members and reads their events.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws.
    public func withSubscriptionGroup<Key, Init, Output, Failure, Value: Sendable>(
        keyedBy _: Key.Type,
        for _: SubscriptionProcedure<Init, Output, Failure>,
        body: (SubscriptionGroup<Key, Output, Failure>) async throws -> Value
    ) async throws -> Value {
        let group = SubscriptionGroup<Key, Output, Failure>(client: self)
        defer { group.endScope() }
        return try await body(group)
    }
}

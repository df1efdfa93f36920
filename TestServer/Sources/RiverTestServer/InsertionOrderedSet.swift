/// A set that remembers insertion order, with amortised constant-time `append`, `remove` and
/// `contains`, and iteration in insertion order in time linear in its size.
///
/// Removal leaves a hole in the order; once holes outnumber members the order is compacted
/// (linear, but only after as many removals, so constant per removal on average). The server
/// keeps its subscribers in one: fan-out goes in subscription order like upstream's `Set`, and a
/// cancelled subscriber leaves without a scan.
struct InsertionOrderedSet<Element: Hashable> {
    /// Members in insertion order; `nil` where one was removed.
    private var order: [Element?] = []
    /// Each member's position in `order`.
    private var positions: [Element: Int] = [:]

    /// The number of members.
    var count: Int { positions.count }

    /// Slots in the order, members and holes together (at most about twice ``count``).
    var storageCount: Int { order.count }

    func contains(_ element: Element) -> Bool { positions[element] != nil }

    /// Adds `element` at the end unless it is a member already.
    mutating func append(_ element: Element) {
        guard positions[element] == nil else { return }
        positions[element] = order.count
        order.append(element)
    }

    /// Removes `element` if it is a member.
    mutating func remove(_ element: Element) {
        guard let position = positions.removeValue(forKey: element) else { return }
        order[position] = nil
        let holes = order.count - positions.count
        if holes > 16, holes > positions.count { compact() }
    }

    mutating func removeAll() {
        order.removeAll()
        positions.removeAll()
    }

    /// The members in insertion order.
    var members: some Sequence<Element> { order.lazy.compactMap { $0 } }

    private mutating func compact() {
        order.removeAll { $0 == nil }
        for (position, element) in order.enumerated() {
            if let element { positions[element] = position }
        }
    }
}

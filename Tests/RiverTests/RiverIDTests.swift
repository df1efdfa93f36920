import River
import Synchronization
import Testing

@Suite("River ids")
struct RiverIDTests {
    @Test("ids are 12 characters of the reference alphabet, and distinct across concurrent callers")
    func idsAreWellFormedAndDistinct() async {
        let alphabet = Set(RiverID.alphabet)
        let perTask = 20_000
        let all = await withTaskGroup(of: [String].self, returning: [String].self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<perTask).map { _ in RiverID.generate() } }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(all.count == 4 * perTask)
        #expect(Set(all).count == all.count)
        #expect(all.allSatisfy { $0.utf8.count == RiverID.length && $0.utf8.allSatisfy(alphabet.contains) })
        // Every character of the alphabet turns up (the digits are spread over all of it).
        #expect(Set(all.joined().utf8) == alphabet)
    }

    @Test("session ids are `session-` and an id")
    func sessionIDs() {
        let id = RiverID.generateSessionID()
        #expect(id.hasPrefix("session-"))
        #expect(id.utf8.count == "session-".utf8.count + RiverID.length)
    }
}

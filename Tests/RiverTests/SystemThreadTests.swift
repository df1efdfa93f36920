#if os(Linux)
import Foundation
@testable import River
import Testing

@Suite("SystemThread: the library's own threads, without Foundation's Thread")
struct SystemThreadTests {
    /// What a started thread saw of itself.
    private struct Observed: Sendable {
        let name: String
        let isOtherThread: Bool
    }

    @Test("runs the body on a new thread that carries the given name")
    func runsBodyOnNamedThread() async throws {
        let callerThread = pthread_self()
        let observed = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Observed, any Error>) in
            do {
                try SystemThread.start(name: "river.test", stackSize: 256 << 10) {
                    // Linux names a thread in /proc; the name is what ps, top and gdb show.
                    let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                    continuation.resume(returning: Observed(
                        name: name.trimmingCharacters(in: .newlines),
                        isOtherThread: pthread_equal(pthread_self(), callerThread) == 0))
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
        #expect(observed.isOtherThread)
        #expect(observed.name == "river.test")
    }

    @Test("a thread asked for a tiny stack gets the minimum, enough for Swift's runtime")
    func tinyStackGetsTheMinimum() async throws {
        let stackSize = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
            do {
                try SystemThread.start(name: "river.tiny", stackSize: 0) {
                    // The size of the mapping that holds this thread's stack.
                    var local = 0
                    let address = withUnsafeMutablePointer(to: &local) { UInt(bitPattern: $0) }
                    // (Read to its end: /proc files report no size, and a one-shot read stops at a page.)
                    let data = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() ?? Data()
                    let maps = String(decoding: data, as: UTF8.self)
                    var size = 0
                    for line in maps.split(separator: "\n") {
                        let range = line.prefix { $0 != " " }.split(separator: "-").compactMap { UInt($0, radix: 16) }
                        if range.count == 2, range[0] <= address, address < range[1] { size = Int(range[1] - range[0]) }
                    }
                    continuation.resume(returning: size)
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
        #expect(stackSize >= SystemThread.minimumStackSize)
    }

    @Test("keeps the first 15 bytes of a longer name (Linux refuses longer ones)")
    func truncatesLongNames() async throws {
        let name = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, any Error>) in
            do {
                try SystemThread.start(name: "river.a-name-longer-than-fifteen", stackSize: 256 << 10) {
                    let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                    continuation.resume(returning: name.trimmingCharacters(in: .newlines))
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
        #expect(name == "river.a-name-lo")
    }
}
#endif

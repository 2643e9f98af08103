import Foundation
import SystemCalls
import Synchronization
import Testing

/// Background threads name themselves and lower their own priority: as the kernel shows them, on the calling
/// thread only.
@Suite("Thread names and priority")
struct ThreadNameTests {
    /// Runs `body` on a new thread and returns what it returned.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            result.withLock { $0 = body() }
            done.signal()
        }.start()
        done.wait()
        return result.withLock { $0! }
    }

    /// The calling thread's name as the kernel keeps it.
    static func comm() -> String { (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "" }

    @Test("setThreadName names the calling thread as /proc shows it, cut at the kernel's 15 bytes")
    func threadNames() throws {
        #expect(Self.onThread { setThreadName("ledger-shard-3"); return Self.comm() } == "ledger-shard-3\n")
        #expect(
            Self.onThread { setThreadName("a-name-longer-than-fifteen"); return Self.comm() } == "a-name-longer-t\n")
    }

    @Test("setThreadIdle puts the calling thread in the idle class, and no other thread")
    func idleClassIsPerThread() {
        let (set, idle) = Self.onThread { (setThreadIdle(), threadIsIdle) }
        #expect(set && idle)
        #expect(!threadIsIdle, "the test's own thread stays in the normal class")
        #expect(!Self.onThread { threadIsIdle }, "a new thread starts in the normal class")
    }
}

import Foundation
import SystemCalls
import Synchronization
import Testing

/// Background threads lower their own priority only: a nice value or the idle class, on the calling thread.
@Suite("Thread priority")
struct ThreadPriorityTests {
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

    @Test("setThreadIdle puts the calling thread in the idle class, and no other thread")
    func idleClassIsPerThread() {
        let (set, idle) = Self.onThread { (setThreadIdle(), threadIsIdle) }
        #expect(set && idle)
        #expect(!threadIsIdle, "the test's own thread stays in the normal class")
        #expect(!Self.onThread { threadIsIdle }, "a new thread starts in the normal class")
    }
}

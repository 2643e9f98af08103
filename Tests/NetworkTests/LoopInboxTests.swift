import Foundation
import Glibc
import Network
import Synchronization
import Testing

@Suite("Loop inbox")
struct LoopInboxTests {
    @Test("items pushed from other threads always wake the loop, even while another thread keeps waking it")
    func noLostWakeUps() throws {
        var limits = NetworkLimits()
        limits.idleTimeoutMs = 0  // no sweep timer: a lost wake-up waits for epoll's 1 s timeout or forever
        let group = try EventLoopGroup(
            loopCount: 1, limits: limits, log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        let consumed = Atomic<Int>(0)
        let ready = Atomic<Bool>(false)
        let box = Mutex<LoopInbox<Int>?>(nil)
        let loop = group.loops[0]
        loop.execute {
            let inbox = LoopInbox<Int>(loop: loop) { items in consumed.add(items.count, ordering: .relaxed) }
            box.withLock { $0 = inbox }
            ready.store(true, ordering: .releasing)
        }
        group.start()
        defer { group.stop() }
        while !ready.load(ordering: .acquiring) { usleep(100) }
        let inbox = box.withLock { $0! }
        let producing = Atomic<Bool>(true)
        let late = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 2) { role in
            if role == 0 {
                // Wakes right after the loop clears its pending flag: with the old order (clear, then read the
                // eventfd) this write was read by the same drain and left the flag set for good.
                while producing.load(ordering: .relaxed) { loop.wake() }
                return
            }
            for count in 1...300 {
                inbox.push(1)
                let deadline = monotonicNanoseconds() + 200_000_000
                while consumed.load(ordering: .relaxed) < count && monotonicNanoseconds() < deadline { usleep(50) }
                if consumed.load(ordering: .relaxed) < count {
                    late.add(1, ordering: .relaxed)
                    break
                }
            }
            producing.store(false, ordering: .relaxed)
        }
        #expect(late.load(ordering: .relaxed) == 0, "an item waited more than 200 ms: a lost wake-up")
        #expect(consumed.load(ordering: .relaxed) == 300)
    }
}

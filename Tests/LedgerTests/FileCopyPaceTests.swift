import Foundation
import Synchronization
import Testing

@testable import Ledger

/// `CopyPace`, the backup's bytes-per-second cap, on virtual time: a copy never gets ahead of the cap by more than
/// one piece, idle time gives back at most one piece, holes cost nothing, and the copy is still byte-exact.
struct FileCopyPaceTests {
    /// A clock that only the pace's sleeps move.
    final class VirtualTime: Sendable {
        let nowNs = Atomic<UInt64>(1_000_000_000)
        func pace(_ bytesPerSecond: Int64) -> CopyPace {
            CopyPace(
                bytesPerSecond: bytesPerSecond, nowNs: { self.nowNs.load(ordering: .relaxed) },
                sleepNs: { self.nowNs.add($0, ordering: .relaxed) })
        }
    }

    @Test("11 MiB at 1 MiB/s wait 10 s of virtual time (a full bucket of one piece at the start); idle time refills one piece")
    func bucketArithmetic() {
        let time = VirtualTime()
        let pace = time.pace(1 << 20)
        pace.take(1 << 20)
        for _ in 0..<10 { pace.take(1 << 20) }
        #expect(pace.waitedNs == 10_000_000_000)
        time.nowNs.add(60_000_000_000, ordering: .relaxed)
        pace.take(1 << 20)
        #expect(pace.waitedNs == 10_000_000_000, "a minute idle gives back one piece, not a minute's worth")
        pace.take(512 << 10)
        #expect(pace.waitedNs == 10_500_000_000)
    }

    @Test("a capped copy of a file with data and a hole: exact bytes, and only the pieces with data are paced")
    func pacedCopy() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var bytes = [UInt8](repeating: 0, count: 6 << 20)
        for index in stride(from: 0, to: 2 << 20, by: 1) { bytes[index] = UInt8(truncatingIfNeeded: index &* 31) }
        let source = directory.path + "/source"
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let time = VirtualTime()
        let pace = time.pace(1 << 20)
        let copied = try FileCopy.copy(source, to: directory.path + "/copy", pace: pace)
        #expect(copied == Int64(bytes.count))
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.path + "/copy")) == Data(bytes))
        #expect(pace.waitedNs == 1_000_000_000, "two pieces of data at 1 MiB/s (the first from the full bucket), holes free")
    }
}

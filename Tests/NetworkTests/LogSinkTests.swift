import Foundation
import Glibc
import Network
import Synchronization
import Testing

/// The log's rate limit: a flood is cut and counted, and the lines an operator needs are never cut.
@Suite("Log sink")
struct LogSinkTests {
    /// A wall clock the test holds still or moves a whole second on.
    final class HeldClock: Sendable {
        let seconds = Atomic<Int>(1_800_000_000)

        var closure: @Sendable () -> timespec {
            { [self] in timespec(tv_sec: seconds.load(ordering: .relaxed), tv_nsec: 250_000_000) }
        }
    }

    /// A sink that writes to a scratch file, with a limit of 3 lines a second.
    struct Capture {
        let path = NSTemporaryDirectory() + "log-sink-\(UInt32.random(in: 0...UInt32.max)).log"
        let clock = HeldClock()
        let sink: LogSink
        let descriptor: Int32

        init() {
            descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            sink = LogSink(descriptor: descriptor, linesPerSecondMax: 3, clock: clock.closure)
        }

        /// The lines written so far, without their timestamps.
        var lines: [String] {
            let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
            return text.split(separator: "\n").map { line in String(line.split(separator: " ", maxSplits: 1)[1]) }
        }

        func remove() {
            close(descriptor)
            unlink(path)
        }
    }

    static let firstSecond = "2027-01-15T08:00:00Z"

    @Test("lines over the limit are suppressed, and the count is logged with the first line of a later second")
    func suppressedLinesAreCounted() {
        let capture = Capture()
        defer { capture.remove() }
        for index in 0..<10 { capture.sink.warning("bad frame \(index)") }
        #expect(capture.lines == ["WARN bad frame 0", "WARN bad frame 1", "WARN bad frame 2"])
        capture.clock.seconds.add(1, ordering: .relaxed)
        capture.sink.info("next")
        #expect(
            capture.lines.suffix(2) == [
                "WARN suppressed 7 log lines in the second \(Self.firstSecond) (more than 3 a second)", "INFO next",
            ])
        #expect(capture.sink.droppedLineCount == 7)
    }

    @Test("start, stop, signal, reload and failure lines are never suppressed, and report what was before them")
    func essentialLinesAreNeverSuppressed() {
        let capture = Capture()
        defer { capture.remove() }
        for index in 0..<10 { capture.sink.warning("bad frame \(index)") }
        capture.sink.info("signal 15: stopping", priority: .essential)
        capture.sink.error("ledger: shard 0 stopped", priority: .essential)
        #expect(
            capture.lines.suffix(3) == [
                "WARN suppressed 7 log lines in the second \(Self.firstSecond) (more than 3 a second)",
                "INFO signal 15: stopping", "ERROR ledger: shard 0 stopped",
            ])
        // Counted once: the next second has nothing more to report.
        capture.clock.seconds.add(1, ordering: .relaxed)
        capture.sink.info("next")
        #expect(capture.lines.last == "INFO next" && capture.lines.count == 7)
    }
}

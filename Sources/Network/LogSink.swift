import Glibc
import Synchronization

/// One line per event to standard error, with a UTC timestamp and a level. Lines are written whole (one write
/// call each) so that lines from different threads never interleave. Callers mask card numbers before logging.
public final class LogSink: Sendable {
    public enum Level: String, Sendable {
        case info = "INFO"
        case warning = "WARN"
        case error = "ERROR"
    }

    let descriptor: Int32
    /// Lines dropped because more than `linesPerSecondMax` were logged in one second (a flood of bad input
    /// must not turn into a flood of log writes).
    let dropped = Atomic<Int>(0)
    let window = Mutex<(second: Int, count: Int)>((0, 0))
    public let linesPerSecondMax: Int

    public init(descriptor: Int32 = 2, linesPerSecondMax: Int = 1000) {
        self.descriptor = descriptor
        self.linesPerSecondMax = linesPerSecondMax
    }

    public func log(_ level: Level, _ message: String) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let second = Int(now.tv_sec)
        let admitted = window.withLock { state -> Bool in
            if state.second != second { state = (second, 0) }
            state.count += 1
            return state.count <= linesPerSecondMax
        }
        guard admitted else {
            dropped.add(1, ordering: .relaxed)
            return
        }
        var line = LogSink.timestamp(now) + " " + level.rawValue + " " + message + "\n"
        line.withUTF8 { bytes in _ = write(descriptor, bytes.baseAddress, bytes.count) }
    }

    public func info(_ message: String) { log(.info, message) }
    public func warning(_ message: String) { log(.warning, message) }
    public func error(_ message: String) { log(.error, message) }

    public var droppedLineCount: Int { dropped.load(ordering: .relaxed) }

    static func timestamp(_ time: timespec) -> String {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let milliseconds = Int(time.tv_nsec / 1_000_000)
        let millisecondText =
            milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millisecondText)Z"
    }
}

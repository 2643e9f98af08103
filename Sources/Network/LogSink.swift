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

    /// Whether the rate limit may drop a line. Per-connection and per-request lines are `routine`: in a flood of
    /// bad input they are dropped (and counted). Start, stop, signal, reload and failure lines are `essential`:
    /// they are what an operator reads after an incident, so they are always written.
    public enum Priority: Sendable {
        case routine, essential
    }

    let descriptor: Int32
    /// The wall clock: timestamps and the one-second windows of the rate limit. Handed in so tests can hold it.
    let clock: @Sendable () -> timespec
    /// Lines dropped because more than `linesPerSecondMax` were logged in one second (a flood of bad input
    /// must not turn into a flood of log writes).
    let dropped = Atomic<Int>(0)
    let window = Mutex(RateWindow())
    public let linesPerSecondMax: Int

    public init(
        descriptor: Int32 = 2, linesPerSecondMax: Int = 1000,
        clock: @escaping @Sendable () -> timespec = LogSink.realtime
    ) {
        precondition(linesPerSecondMax >= 1, "linesPerSecondMax must be positive")
        self.descriptor = descriptor
        self.linesPerSecondMax = linesPerSecondMax
        self.clock = clock
    }

    /// CLOCK_REALTIME: log lines carry the time people and other systems use.
    public static let realtime: @Sendable () -> timespec = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }

    /// Writes one line, unless it is routine and this second already had `linesPerSecondMax` lines. Lines it
    /// drops are counted and said in one line before the next line written, so a reader knows what is missing.
    public func log(_ level: Level, _ message: String, priority: Priority = .routine) {
        let now = clock()
        let (admitted, report) = window.withLock { window in
            window.admit(second: Int(now.tv_sec), priority: priority, linesPerSecondMax: linesPerSecondMax)
        }
        if let report {
            write(
                now, .warning,
                "suppressed \(report.count) log lines in the second \(LogSink.dateTime(report.second))Z "
                    + "(more than \(linesPerSecondMax) a second)")
        }
        guard admitted else {
            dropped.add(1, ordering: .relaxed)
            return
        }
        write(now, level, message)
    }

    private func write(_ time: timespec, _ level: Level, _ message: String) {
        var line = LogSink.timestamp(time) + " " + level.rawValue + " " + message + "\n"
        line.withUTF8 { bytes in _ = Glibc.write(descriptor, bytes.baseAddress, bytes.count) }
    }

    public func info(_ message: String, priority: Priority = .routine) { log(.info, message, priority: priority) }
    public func warning(_ message: String, priority: Priority = .routine) {
        log(.warning, message, priority: priority)
    }
    public func error(_ message: String, priority: Priority = .routine) { log(.error, message, priority: priority) }

    public var droppedLineCount: Int { dropped.load(ordering: .relaxed) }

    /// `2027-01-15T08:00:00.250Z`: RFC 3339, UTC, milliseconds.
    static func timestamp(_ time: timespec) -> String {
        let milliseconds = Int(time.tv_nsec / 1_000_000)
        let millisecondText =
            milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return dateTime(Int(time.tv_sec)) + "." + millisecondText + "Z"
    }

    /// `2027-01-15T08:00:00` for a second since the epoch, UTC.
    static func dateTime(_ second: Int) -> String {
        var seconds = time_t(second)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}

/// One second of the log's rate limit: the lines counted in it, and those suppressed and not yet reported.
struct RateWindow {
    var second = 0
    var count = 0
    var suppressed = 0

    /// Counts a line logged in `second`. Returns whether to write it, and the suppressed lines to report first:
    /// those of an earlier second, or, before an essential line, those of this second so far.
    mutating func admit(second: Int, priority: LogSink.Priority, linesPerSecondMax: Int) -> (
        admitted: Bool, report: (second: Int, count: Int)?
    ) {
        var report: (second: Int, count: Int)?
        if second != self.second {
            if suppressed > 0 { report = (self.second, suppressed) }
            self = RateWindow(second: second)
        }
        count += 1
        if priority == .routine && count > linesPerSecondMax {
            suppressed += 1
            return (false, report)
        }
        if suppressed > 0 {
            precondition(report == nil, "a new second starts with nothing suppressed")
            report = (second, suppressed)
            suppressed = 0
        }
        return (true, report)
    }
}

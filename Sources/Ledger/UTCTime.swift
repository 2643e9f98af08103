#if canImport(Glibc)
    import Glibc
#endif

/// Times for people, as errors and log lines name them: RFC 3339 in UTC with milliseconds
/// (`2026-03-01T09:30:00.250Z`). Off the request path: it formats through `gmtime_r` and builds strings.
public enum UTCTime {
    /// `milliseconds` since the epoch in RFC 3339, UTC.
    public static func rfc3339(milliseconds: Int64) -> String {
        let millisecondsPerSecond: Int64 = 1000
        var seconds = time_t(floorDivision(milliseconds, millisecondsPerSecond))
        let fraction = Int(milliseconds - Int64(seconds) * millisecondsPerSecond)
        precondition((0..<1000).contains(fraction), "fraction of a second out of range")
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\(parts.tm_year + 1900)-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))T"
            + "\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2))."
            + "\(padded(Int32(fraction), 3))Z"
    }

    /// A duration in milliseconds as seconds with three decimals (`3600.000 s`).
    public static func seconds(milliseconds: Int64) -> String {
        let sign = milliseconds < 0 ? "-" : ""
        let magnitude = milliseconds.magnitude
        precondition(magnitude % 1000 < 1000, "a fraction of a second")
        return "\(sign)\(magnitude / 1000).\(padded(Int32(magnitude % 1000), 3)) s"
    }

    static func floorDivision(_ value: Int64, _ divisor: Int64) -> Int64 {
        precondition(divisor > 0, "a positive divisor")
        return value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }

    static func padded(_ value: Int32, _ width: Int) -> String {
        precondition(value >= 0 && width >= 1, "a non-negative field padded to a width")
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

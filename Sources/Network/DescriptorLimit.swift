import Glibc

/// The process's descriptor limit (RLIMIT_NOFILE) and how many descriptors are open: what decides whether
/// `connectionsMax` connections fit beside the descriptors the process keeps for itself.
public enum DescriptorLimit {
    public struct Limits: Sendable, Equatable {
        public var soft: Int
        public var hard: Int
    }

    /// The limits in force.
    public static var current: Limits {
        var limit = rlimit()
        precondition(getrlimit(resource, &limit) == 0, "getrlimit(RLIMIT_NOFILE) failed: errno \(errno)")
        return Limits(soft: clamp(limit.rlim_cur), hard: clamp(limit.rlim_max))
    }

    /// Raises the soft limit to the hard one (what a service should run with: the soft limit of 1024 that
    /// systemd and shells hand out is a compatibility default, not a budget); returns the limits before and
    /// after. A refusal by the kernel leaves them as they were.
    @discardableResult
    public static func raiseSoftToHard() -> (before: Limits, after: Limits) {
        let before = current
        guard before.soft < before.hard else { return (before, before) }
        var limit = rlimit()
        precondition(getrlimit(resource, &limit) == 0, "getrlimit(RLIMIT_NOFILE) failed: errno \(errno)")
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
        return (before, current)
    }

    /// Descriptors open in this process now (entries of /proc/self/fd, less the one listing them). Bounded by
    /// `current.soft`: the directory cannot hold more.
    public static func openCount() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return max(count - 1, 0)
    }

    /// How many connections fit: the soft limit, less the descriptors the process keeps for itself.
    public static func connectionsThatFit(limit: Int, keptForProcess: Int) -> Int {
        precondition(limit >= 0 && keptForProcess >= 0, "descriptor counts are not negative")
        return max(limit - keptForProcess, 0)
    }

    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

    private static func clamp(_ value: rlim_t) -> Int { value >= rlim_t(Int.max) ? Int.max : Int(value) }
}

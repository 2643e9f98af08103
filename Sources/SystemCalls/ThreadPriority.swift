import CLinux

/// Lowers the calling thread's priority (its nice value, 0...19): background work (checkpoints, reports, backups)
/// then takes the cores only when the ISO loops and the shards leave them. False when the kernel refused.
@discardableResult
public func setThreadNice(_ nice: Int32) -> Bool {
    precondition((0...19).contains(nice), "a nice value an unprivileged thread may take: 0...19")
    return clinux_set_thread_nice(nice) == 0
}

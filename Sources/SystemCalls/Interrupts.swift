import CLinux

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a system call again while it fails with EINTR (a signal arrived before it did anything), the one place
/// that knows this rule. `body` returns the call's result: negative with `errno` set for a failure, as most calls
/// do; `errno` still holds the last call's error when this returns.
@inline(__always)
public func retryingInterrupts<Result: FixedWidthInteger>(_ body: () -> Result) -> Result {
    while true {
        let result = body()
        if result >= 0 || errno != EINTR { return result }
    }
}

/// Lowers the calling thread's priority (its nice value, 0...19): background work (checkpoints, reports, backups)
/// then takes the cores only when the ISO loops and the shards leave them. False when the kernel refused.
@discardableResult
public func setThreadNice(_ nice: Int32) -> Bool {
    precondition((0...19).contains(nice), "a nice value an unprivileged thread may take: 0...19")
    return clinux_set_thread_nice(nice) == 0
}

import CLinux

/// Lowers the calling thread's priority (its nice value, 0...19): background work (checkpoints, reports, backups)
/// then takes the cores only when the ISO loops and the shards leave them. False when the kernel refused.
@discardableResult
public func setThreadNice(_ nice: Int32) -> Bool {
    precondition((0...19).contains(nice), "a nice value an unprivileged thread may take: 0...19")
    return clinux_set_thread_nice(nice) == 0
}

/// Puts the calling thread in the idle scheduling class (SCHED_IDLE): it takes a core only when no other thread
/// wants it, and a waking ISO loop or shard takes the core from it at once (the kernel also prefers such a core
/// when it places a waking thread). For work whose only cost should be the time it takes: a report's rows.
/// Under a load that keeps every core busy it crawls (the class keeps a sliver of CPU). False when the kernel
/// refused.
@discardableResult
public func setThreadIdle() -> Bool { clinux_set_thread_idle() == 0 }

/// True when the calling thread is in the idle scheduling class.
public var threadIsIdle: Bool { clinux_thread_is_idle() == 1 }

/// Names the calling thread as `top -H`, `perf` and /proc show it (Foundation's `Thread.name` stays inside the
/// process on Linux). The kernel keeps 15 bytes: a longer name is cut there.
public func setThreadName(_ name: String) {
    var bytes = name.utf8.prefix(15).map { CChar(bitPattern: $0) }
    bytes.append(0)
    bytes.withUnsafeBufferPointer { clinux_set_thread_name($0.baseAddress!) }
}

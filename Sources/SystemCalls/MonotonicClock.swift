#if canImport(Glibc)
    import Glibc
#endif

/// Monotonic time in nanoseconds, for deadlines, pacing and latency (never the wall clock, which can jump). The
/// one monotonic clock of the program: every module reads it here.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}

/// CPU time the calling thread has used, in nanoseconds (for costs measured per commit or per step).
@inline(__always)
public func threadCPUNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}

/// Sleeps the calling thread for `nanoseconds`, the whole time even when signals interrupt it.
public func sleepNanoseconds(_ nanoseconds: UInt64) {
    var pause = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&pause, &remaining) != 0 && errno == EINTR { pause = remaining }
}

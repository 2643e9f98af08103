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

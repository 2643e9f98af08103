import Glibc
// Re-exported: every user of the network layer reads the one monotonic clock (`monotonicNanoseconds`) from it.
@_exported import SystemCalls

/// The outcome of a non-blocking call: a value, or "try again later" (EAGAIN), which is not an error.
public enum IOResult<Value> {
    case processed(Value)
    case wouldBlock
}

/// An operating error from a system call: peer reset, out of descriptors, … The connection it concerns closes;
/// the switch goes on.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let errorNumber: Int32

    public var description: String { "\(call): \(String(cString: strerror(errorNumber))) (errno \(errorNumber))" }
}

/// Runs a system call the way SwiftNIO's `syscall()` does: retries EINTR, turns EAGAIN into `.wouldBlock`, and
/// crashes on EBADF/EFAULT/EINVAL, which mean a bug in this program rather than a problem of the peer.
@inline(__always)
func systemCall<Value: FixedWidthInteger>(
    _ name: StaticString, _ body: () -> Value
) throws(SystemCallError) -> IOResult<Value> {
    let result = retryingInterrupts(body)
    if result >= 0 { return .processed(result) }
    let error = errno
    switch error {
    case EAGAIN: return .wouldBlock
    case EBADF, EFAULT:
        preconditionFailure("\(name) failed with errno \(error): a descriptor or buffer bug")
    default:
        throw SystemCallError(call: "\(name)", errorNumber: error)
    }
}


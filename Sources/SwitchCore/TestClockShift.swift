import Ledger

#if canImport(Glibc)
    import Glibc
#endif

/// Tests only: with `LOYALTY_TEST_CLOCK=FILE` the switch's wall clock (the ledger's batch times, hold and lot
/// expiry, field 7's age, report dates) runs that many milliseconds ahead of the real one, the count read from
/// FILE's first 8 bytes (little-endian) through a shared mapping on every reading. An end-to-end test of a
/// day-long window then moves the real process's clock, as NIOEmbedded's `advanceTime` moves an embedded loop's,
/// instead of sleeping through it. Monotonic time (budgets, deadlines) is not moved. The start logs a warning.
public final class TestClockShift: @unchecked Sendable {
    public static let variable = "LOYALTY_TEST_CLOCK"
    private let shift: UnsafeMutablePointer<Int64>

    /// Maps `path` (at least 8 bytes); nil with the reason when it cannot.
    init(path: String) throws(SwitchStartError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SwitchStartError(message: "\(Self.variable)=\(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_size >= 8 else {
            throw SwitchStartError(message: "\(Self.variable)=\(path): must hold at least 8 bytes (the shift in ms)")
        }
        guard let mapping = mmap(nil, 8, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else {
            throw SwitchStartError(message: "\(Self.variable)=\(path): mmap: \(String(cString: strerror(errno)))")
        }
        precondition(Int(bitPattern: mapping) % 8 == 0, "a mapping is page-aligned, so the load is whole")
        shift = mapping.bindMemory(to: Int64.self, capacity: 1)
    }

    /// The shift named by the environment, or nil when the variable is not set.
    static func fromEnvironment() throws(SwitchStartError) -> TestClockShift? {
        guard let value = getenv(variable) else { return nil }
        return try TestClockShift(path: String(cString: value))
    }

    /// The real wall clock plus the shift (an aligned 8-byte load: whole old or whole new value).
    public var clockMs: @Sendable () -> Int64 {
        { [self] in LedgerConfiguration.realtimeMs() &+ Int64(littleEndian: shift.pointee) }
    }
}

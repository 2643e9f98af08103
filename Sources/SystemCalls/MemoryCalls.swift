import CLinux

/// Memory calls Glibc's Swift module does not expose.
public enum MemoryCalls {
    /// Makes the pages of `count` bytes at `address` (page-aligned) resident and writable without changing their
    /// bytes, so another thread may be writing them meanwhile (MADV_POPULATE_WRITE). False where the kernel cannot
    /// (before Linux 5.14) or memory is short: the pages then come in on first touch, as without it.
    public static func populateWrite(_ address: UnsafeMutableRawPointer, count: Int) -> Bool {
        precondition(count >= 0 && Int(bitPattern: address) % 4096 == 0, "a page-aligned range")
        return count == 0 || clinux_populate_write(address, count) == 0
    }
}

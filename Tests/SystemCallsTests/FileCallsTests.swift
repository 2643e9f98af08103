import Foundation
import SystemCalls
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The shared file calls on real files: what they write is what they read, a failure names its call, path and
/// error, and the flock probe tells "held by another open file" from an error.
@Suite("File calls")
struct FileCallsTests {
    static func scratch() -> String {
        let path = NSTemporaryDirectory() + "filecalls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(path, 0o700)
        return path
    }

    @Test("writeAll at an offset and readFully round trip; reading past the end returns only what is there")
    func roundTrip() throws {
        let directory = Self.scratch()
        defer { _ = try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/data"
        let descriptor = try FileCalls.open(path, flags: O_RDWR | O_CREAT)
        defer { close(descriptor) }
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try bytes.withUnsafeBytes { try FileCalls.writeAll(descriptor, $0, offset: 4096, path: path) }
        try FileCalls.dataSync(descriptor, path: path)
        try FileCalls.fullSync(descriptor, path: path)
        try FileCalls.syncDirectory(directory)
        var back = [UInt8](repeating: 0, count: 200_000)
        let count = try back.withUnsafeMutableBytes { try FileCalls.readFully(descriptor, $0, offset: 4096, path: path) }
        #expect(count == bytes.count)
        #expect(Array(back[0..<count]) == bytes)
        #expect(fcntl(descriptor, F_GETFD) & FD_CLOEXEC != 0, "descriptors are close-on-exec")
    }

    @Test("writeAll at the descriptor's position: a pipe gets every byte past its buffer; a failed write is named")
    func streamWrite() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }  // past the 64 KiB pipe buffer
        let received = Mutex<[UInt8]>([])
        let reader = Thread {
            var chunk = [UInt8](repeating: 0, count: 8192)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                received.withLock { $0 += chunk[0..<count] }
            }
        }
        reader.start()
        try bytes.withUnsafeBytes { try FileCalls.writeAll(writeEnd, $0, path: "pipe") }
        close(writeEnd)
        let deadline = Date().addingTimeInterval(10)
        while received.withLock({ $0.count }) < bytes.count && Date() < deadline { usleep(1000) }
        #expect(received.withLock { $0 } == bytes)
        #expect(throws: FileCallFailure.self) {
            try [UInt8(1)].withUnsafeBytes { try FileCalls.writeAll(readEnd, $0, path: "the read end") }
        }
        do {
            try [UInt8(1)].withUnsafeBytes { try FileCalls.writeAll(readEnd, $0, path: "the read end") }
        } catch let failure as FileCallFailure {
            #expect(failure.operation == "write" && failure.path == "the read end" && failure.errorNumber == EBADF)
        }
        close(readEnd)
    }

    @Test("a failed open names the call, the path and the error number in words")
    func failureNamesItself() {
        let path = "/nonexistent-\(getpid())/file"
        do {
            _ = try FileCalls.open(path, flags: O_RDONLY)
            Issue.record("opened a file in a directory that does not exist")
        } catch {
            #expect(error.operation == "open" && error.path == path && error.errorNumber == ENOENT)
            #expect(error.description == "\(path): open failed: No such file or directory (errno \(ENOENT))")
        }
    }

    @Test("tryLock: taken when free, false while another open file holds it, taken again once that one closes")
    func tryLock() throws {
        let directory = Self.scratch()
        defer { _ = try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/lock"
        let first = try FileCalls.open(path, flags: O_RDWR | O_CREAT)
        let second = try FileCalls.open(path, flags: O_RDWR)
        defer { close(second) }
        #expect(try FileCalls.tryLock(first, path: path))
        #expect(try FileCalls.tryLock(second, path: path) == false)
        close(first)
        // A child that another test is spawning holds a copy of `first` from its fork until its exec (what
        // DataDirectory.unlock waits out): so "taken again" is waited for, bounded.
        var taken = false
        for _ in 0..<10_000 where !taken {
            taken = try FileCalls.tryLock(second, path: path)
            if !taken { usleep(1_000) }
        }
        #expect(taken)
    }

    @Test("retryingInterrupts calls again after EINTR and returns the first other result, errno intact")
    func retriesInterrupts() {
        var calls = 0
        let result = retryingInterrupts { () -> Int32 in
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            errno = EAGAIN
            return -1
        }
        #expect(result == -1 && calls == 3 && errno == EAGAIN)
        #expect(retryingInterrupts { Int32(7) } == 7)
    }

    @Test("sleepNanoseconds sleeps at least as long as asked on the monotonic clock")
    func sleepsOnTheMonotonicClock() {
        let before = monotonicNanoseconds()
        sleepNanoseconds(2_000_000)
        #expect(monotonicNanoseconds() - before >= 2_000_000)
        #expect(threadCPUNanoseconds() > 0)
    }
}

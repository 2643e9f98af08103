import CTestSpawn
import Foundation
import Glibc

/// Runs a short-lived tool (curl, openssl, python3…) with `posix_spawn`, standard output and error together,
/// standard input from /dev/null or `input`, killed after `timeout` seconds.
///
/// Why not Foundation's `Process`: on Swift 6.3.1 for Linux its `run()` intermittently crashes the test process
/// (a `memmove` past the end of glibc's readdir buffer while it lists /proc/self/fd to close descriptors:
/// swiftlang/swift-corelibs-foundation#5472). Suites that start hundreds of curl processes met it once per few full
/// runs. Here (CTestSpawn) the child's descriptors above 2 are closed by `posix_spawn_file_actions_addclosefrom_np`,
/// which lists no directory.
public enum ChildProcess {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func run(
        _ path: String, _ arguments: [String], input: Data? = nil, timeout: Double = 60
    ) throws -> (status: Int32, output: String) {
        var outputPipe: [Int32] = [-1, -1]
        var inputPipe: [Int32] = [-1, -1]
        guard ctestspawn_pipe(&outputPipe) == 0 else { throw Failure(description: "pipe: \(errno)") }
        defer { for fd in outputPipe where fd >= 0 { close(fd) } }
        if input != nil {
            guard ctestspawn_pipe(&inputPipe) == 0 else { throw Failure(description: "pipe: \(errno)") }
        } else {
            inputPipe[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }
        defer { for fd in inputPipe where fd >= 0 { close(fd) } }

        let argv = ([path] + arguments).map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            ctestspawn_spawn(path, argvBuffer.baseAddress, inputPipe[0], outputPipe[1], &pid)
        }
        guard spawned == 0 else {
            throw Failure(description: "cannot run \(path): \(String(cString: strerror(spawned)))")
        }
        close(outputPipe[1])
        outputPipe[1] = -1

        if let input {
            close(inputPipe[0])
            inputPipe[0] = -1
            let writeEnd = inputPipe[1]
            inputPipe[1] = -1
            // Written beside the reading below, so a child that answers before it has read everything cannot
            // block both ends.
            let writer = Thread {
                input.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(writeEnd, bytes.baseAddress! + offset, bytes.count - offset)
                        if written > 0 { offset += written } else if errno != EINTR { break }
                    }
                }
                close(writeEnd)
            }
            writer.start()
        }

        let deadline = Date().addingTimeInterval(timeout)
        var collected = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var timedOut = false
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 {
                timedOut = true
                break
            }
            var poller = pollfd(fd: outputPipe[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left, 1) * 1000) + 1)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { read(outputPipe[0], $0.baseAddress!, $0.count) }
            if count > 0 {
                collected.append(contentsOf: buffer[0..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if timedOut { throw Failure(description: "\(path) did not finish in \(timeout) s") }
        // WIFEXITED / WEXITSTATUS, as Foundation's terminationStatus reports them (a signal's number otherwise).
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : status & 0x7f
        return (exitStatus, String(decoding: collected, as: UTF8.self))
    }

    /// Starts `path` holding a copy of `descriptor` (as its descriptor 3) and returns its pid without waiting: the
    /// caller reaps it. It reproduces what every child spawned by another thread does between its fork and its
    /// exec (holds the parent's open files, and with them their flock locks), for as long as the child runs.
    public static func startHolding(descriptor: Int32, _ path: String, _ arguments: [String]) throws -> pid_t {
        let argv = ([path] + arguments).map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            ctestspawn_spawn_holding(path, argvBuffer.baseAddress, descriptor, &pid)
        }
        guard spawned == 0 else {
            throw Failure(description: "cannot run \(path): \(String(cString: strerror(spawned)))")
        }
        return pid
    }
}

import CTestSpawn
import Foundation
import Glibc

/// Runs a short-lived tool (curl, openssl, python3…) with `posix_spawn`, standard input from /dev/null or `input`,
/// killed after `timeout` seconds.
///
/// Why not Foundation's `Process`: on Swift 6.3.1 for Linux its `run()` intermittently crashes the test process
/// (a `memmove` past the end of glibc's readdir buffer while it lists /proc/self/fd to close descriptors:
/// swiftlang/swift-corelibs-foundation#5472). Suites that start hundreds of curl processes met it once per few full
/// runs. Here (CTestSpawn) the child's descriptors above 2 are closed by `posix_spawn_file_actions_addclosefrom_np`,
/// which lists no directory. And its `waitUntilExit()` spins a run loop that, on the test runner's threads, can miss
/// the child's end and wait forever (a CI run hung 80 minutes in a test that made certificates with openssl).
public enum ChildProcess {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// What a finished child gave: its exit status (a signal's number when a signal ended it), its standard output
    /// and its standard error.
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
        public let errors: String
    }

    /// Runs `path` (searched in PATH when it has no slash) with standard output and error together.
    public static func run(
        _ path: String, _ arguments: [String], input: Data? = nil, timeout: Double = 60
    ) throws -> (status: Int32, output: String) {
        let outcome = try execute(path, arguments, input: input, timeout: timeout, separateErrors: false)
        return (outcome.status, outcome.output)
    }

    /// Runs `path` (searched in PATH when it has no slash) with standard output and error apart.
    public static func capture(
        _ path: String, _ arguments: [String], input: Data? = nil, timeout: Double = 60
    ) throws -> Outcome {
        try execute(path, arguments, input: input, timeout: timeout, separateErrors: true)
    }

    private static func execute(
        _ path: String, _ arguments: [String], input: Data?, timeout: Double, separateErrors: Bool
    ) throws -> Outcome {
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        var inputPipe: [Int32] = [-1, -1]
        defer { for fd in outputPipe + errorPipe + inputPipe where fd >= 0 { close(fd) } }
        guard ctestspawn_pipe(&outputPipe) == 0 else { throw Failure(description: "pipe: \(errno)") }
        if separateErrors {
            guard ctestspawn_pipe(&errorPipe) == 0 else { throw Failure(description: "pipe: \(errno)") }
        }
        if input != nil {
            guard ctestspawn_pipe(&inputPipe) == 0 else { throw Failure(description: "pipe: \(errno)") }
        } else {
            inputPipe[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)
        }

        let pid = try spawn(
            path, arguments, input: inputPipe[0], output: outputPipe[1],
            errors: separateErrors ? errorPipe[1] : outputPipe[1])
        // The child holds the write ends now; ours must close for its end of output to be seen.
        close(outputPipe[1])
        outputPipe[1] = -1
        if errorPipe[1] >= 0 {
            close(errorPipe[1])
            errorPipe[1] = -1
        }

        var writer: Thread?
        if let input {
            close(inputPipe[0])
            inputPipe[0] = -1
            let writeEnd = inputPipe[1]
            inputPipe[1] = -1
            // Written beside the reading below, so a child that answers before it has read everything cannot
            // block both ends.
            writer = Thread {
                input.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(writeEnd, bytes.baseAddress! + offset, bytes.count - offset)
                        if written > 0 { offset += written } else if errno != EINTR { break }
                    }
                }
                close(writeEnd)
            }
            writer?.start()
        }

        let deadline = Date().addingTimeInterval(timeout)
        var streams = [(descriptor: outputPipe[0], bytes: [UInt8]())]
        if separateErrors { streams.append((errorPipe[0], [])) }
        var open = streams.map { _ in true }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var timedOut = false
        while open.contains(true) {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 {
                timedOut = true
                break
            }
            var pollers = streams.indices.map { index in
                pollfd(fd: open[index] ? streams[index].descriptor : -1, events: Int16(POLLIN), revents: 0)
            }
            let ready = poll(&pollers, nfds_t(pollers.count), Int32(min(left, 1) * 1000) + 1)
            if ready <= 0 { continue }
            for index in streams.indices where open[index] && pollers[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(streams[index].descriptor, $0.baseAddress!, $0.count) }
                if count > 0 {
                    streams[index].bytes.append(contentsOf: buffer[0..<count])
                } else if count == 0 || errno != EINTR {
                    open[index] = false
                }
            }
        }
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if timedOut { throw Failure(description: "\(path) did not finish in \(timeout) s") }
        return Outcome(
            status: Spawned.Termination(waitStatus: status).status,
            output: String(decoding: streams[0].bytes, as: UTF8.self),
            errors: separateErrors ? String(decoding: streams[1].bytes, as: UTF8.self) : "")
    }

    /// posix_spawnp with the three standard descriptors given and every other one closed; the child's pid.
    static func spawn(
        _ path: String, _ arguments: [String], input: Int32, output: Int32, errors: Int32
    ) throws -> pid_t {
        let argv = ([path] + arguments).map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            ctestspawn_spawn_files(path, argvBuffer.baseAddress, input, output, errors, &pid)
        }
        guard spawned == 0 else {
            throw Failure(description: "cannot run \(path): \(String(cString: strerror(spawned)))")
        }
        return pid
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

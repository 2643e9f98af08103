import Foundation
import Ledger
import Synchronization
import SystemCalls

/// The backups the running switch takes (`"backup"` in the configuration): one at start, then one every
/// `intervalMinutes`, on a thread of its own at nice `threadNice`, never on a loop or a shard thread: the shards
/// go on while it reads their files (LedgerCopy pins them by descriptor), so authorizations never wait for it.
///
/// Each backup is written as `backup-<time>.partial` and renamed to `backup-<time>` only once verified and
/// described by its manifest; a failure (a full disk) removes the partial directory, is counted and logged, and
/// leaves the good backups as they were. After a good one, the oldest beyond `keep` are removed.
final class BackupSchedule: Sendable {
    /// Nice value of the backup thread: the kernel runs the loops and the shards first on busy cores.
    static let threadNice: Int32 = 10
    static let namePrefix = "backup-"
    static let partialSuffix = ".partial"

    struct Status: Sendable {
        var successes: UInt64 = 0
        var failures: UInt64 = 0
        var lastSuccessMs: Int64?
        var lastDurationMs: Int64 = 0
        var lastBytes: Int64 = 0
        var lastFailure: String?
        var running = false
    }

    let configuration: BackupConfiguration
    let dataDirectory: String
    let decider: any Decider
    let wallClockMs: @Sendable () -> Int64
    let log: @Sendable (String) -> Void
    let status = Mutex(Status())
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(
        configuration: BackupConfiguration, dataDirectory: String, decider: any Decider,
        wallClockMs: @escaping @Sendable () -> Int64, log: @escaping @Sendable (String) -> Void
    ) {
        self.configuration = configuration
        self.dataDirectory = dataDirectory
        self.decider = decider
        self.wallClockMs = wallClockMs
        self.log = log
    }

    func start() {
        let thread = Thread { [self] in
            setThreadName("backup-schedule")
            setThreadNice(Self.threadNice)
            run()
            finished.signal()
        }
        thread.name = "backup-schedule"
        thread.start()
    }

    /// Stops the schedule; a backup in progress finishes first (it only reads the data directory).
    func stop() {
        stopped.store(true, ordering: .releasing)
        wake.signal()
        finished.wait()
    }

    private func run() {
        precondition(
            configuration.intervalMinutes >= 1 && configuration.keep >= 1,
            "a schedule with an interval and a kept backup")
        let intervalNs = UInt64(configuration.intervalMinutes) * 60 * 1_000_000_000
        while !stopped.load(ordering: .acquiring) {
            takeOne()
            _ = wake.wait(timeout: .now() + .nanoseconds(Int(intervalNs)))
        }
    }

    /// One backup, its rename, and the removal of old ones; the outcome goes into `status` last, so whoever sees
    /// a backup counted (health, metrics, the log) finds at most `keep` in the directory.
    func takeOne() {
        status.withLock { $0.running = true }
        let startedNs = monotonicNanoseconds()
        let nowMs = wallClockMs()
        let name = Self.namePrefix + Self.compactTime(nowMs)
        precondition(
            !name.hasSuffix(Self.partialSuffix) && !name.contains("/"), "a backup's name is one complete entry")
        try? FileManager.default.createDirectory(atPath: configuration.directory, withIntermediateDirectories: true)
        removePartials()
        let outcome = Result { () throws(BackupError) -> BackupManifest in
            let partial = configuration.directory + "/" + name + Self.partialSuffix
            let pace = configuration.bytesPerSecondMax.map { CopyPace(bytesPerSecond: $0) }
            let manifest = try DataBackup.run(
                data: dataDirectory, to: partial, decider: decider, nowMs: nowMs, pace: pace)
            guard rename(partial, configuration.directory + "/" + name) == 0 else {
                let error = BackupFiles.failure("rename to \(name)", partial)
                BackupFiles.removeTree(partial)
                throw error
            }
            try BackupFiles.syncDirectory(configuration.directory)
            return manifest
        }
        let elapsedMs = Int64((monotonicNanoseconds() - startedNs) / 1_000_000)
        if case .success = outcome { removeOldest() }
        record(outcome, name: name, nowMs: nowMs, elapsedMs: elapsedMs)
    }

    private func record(_ outcome: Result<BackupManifest, BackupError>, name: String, nowMs: Int64, elapsedMs: Int64) {
        switch outcome {
        case .success(let manifest):
            precondition(manifest.totalBytes >= 0 && elapsedMs >= 0, "a backup's size and time are not negative")
            status.withLock {
                $0.successes += 1
                $0.lastSuccessMs = nowMs
                $0.lastDurationMs = elapsedMs
                $0.lastBytes = manifest.totalBytes
                $0.lastFailure = nil
                $0.running = false
            }
            log(
                "backup \(configuration.directory)/\(name): \(manifest.files.count) files, \(manifest.totalBytes) bytes, "
                    + "sequences \(manifest.lastSequences), \(elapsedMs) ms")
        case .failure(let error):
            status.withLock {
                $0.failures += 1
                $0.lastFailure = error.description
                $0.running = false
            }
            log("backup \(configuration.directory)/\(name) failed (the earlier backups are kept): \(error)")
        }
    }

    /// Partial directories left by a crash or a stop during a backup: never counted as backups.
    private func removePartials() {
        for name in (try? BackupFiles.list(configuration.directory)) ?? []
        where name.hasPrefix(Self.namePrefix) && name.hasSuffix(Self.partialSuffix) {
            BackupFiles.removeTree(configuration.directory + "/" + name)
        }
    }

    /// Keeps the newest `keep` complete backups (names sort by time).
    private func removeOldest() {
        let complete = ((try? BackupFiles.list(configuration.directory)) ?? []).filter {
            $0.hasPrefix(Self.namePrefix) && !$0.hasSuffix(Self.partialSuffix)
        }
        precondition(configuration.keep >= 1, "the newest backup is always kept")
        for name in complete.dropLast(configuration.keep) {
            BackupFiles.removeTree(configuration.directory + "/" + name)
            log("backup \(configuration.directory)/\(name) removed (keep \(configuration.keep))")
        }
    }

    /// `20261203T214509.789Z`: sorts as time does, and is a valid file name.
    static func compactTime(_ milliseconds: Int64) -> String {
        let text = String(UTCTime.rfc3339(milliseconds: milliseconds).filter { $0 != "-" && $0 != ":" })
        precondition(!text.isEmpty && !text.contains("/"), "a time that is a valid file name")
        return text
    }
}

import Ledger
import LoyaltyLedger
import SwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// `loyalty-switch ledger follow`: keeps a standby of a ledger by copying its log (docs/replication.md).
enum FollowCommand {
    static let usage = """
               loyalty-switch ledger follow --data PRIMARY --to STANDBY [--status-interval-ms N]
                                            [--checkpoint-records N]

        follow   Keep STANDBY a copy of the ledger in PRIMARY, while the switch serves PRIMARY or not. A new or
                 empty STANDBY is first seeded with a verified backup of PRIMARY (as `ledger backup`); then every
                 shard's log is followed: the batches PRIMARY made durable are appended byte for byte to STANDBY's
                 log, each synced before STANDBY's segment header acknowledges it. Prints a status line every N
                 ms (default 1000): per shard the standby's and the primary's last sequence and the lag.
                 SIGTERM or SIGINT stops it cleanly (last line: `follow: stopped at sequences ...`); run again,
                 it resumes where STANDBY's log ends. Damage in PRIMARY's log (a checksum mismatch, a gap, a
                 broken chain, a missing segment) stops it with exit code 1, naming the file, the offset and the
                 sequences; nothing after the damage is copied. The audit trail (audit/journal.jsonl and
                 audit/private.jsonl: users, tokens, names) is followed too, whole lines only; a STANDBY
                 trail that is not a prefix of PRIMARY's is refused. `serve --data STANDBY` (with PRIMARY's
                 configuration) promotes the standby once the follower has stopped. Once a shard of STANDBY has N
                 records after its newest snapshot (--checkpoint-records, default 4000000; 0: never), the
                 follower checkpoints it between passes: it recovers the shard as a start does, writes a new
                 snapshot and deletes the segments it covers, after reading the standby's history and sales
                 store on to the log's end; a promotion then replays only the log after that snapshot.
        """

    static let statusIntervalMsDefault = 1000
    static let checkpointRecordsDefault: UInt64 = 4_000_000
    /// Tests only: `LOYALTY_FOLLOW_TEST_PAUSE=replayed|snapshot-written` makes a checkpoint print
    /// `follow: test pause at PHASE` and wait there (a test kills the follower in the middle of a checkpoint).
    static let testPauseVariable = "LOYALTY_FOLLOW_TEST_PAUSE"
    static let testPauseSeconds: UInt32 = 60
    /// How long an idle follower waits for a signal before looking at the primary's log again.
    static let idleWaitMs = 10

    static func run(_ options: [String]) -> Int32 {
        signal(SIGXFSZ, SIG_IGN)
        var options = options
        var intervalMs = statusIntervalMsDefault
        if let index = options.firstIndex(of: "--status-interval-ms"), index + 1 < options.count {
            guard let value = Int(options[index + 1]), (10...3_600_000).contains(value) else {
                return usageError("--status-interval-ms must be a whole number of milliseconds from 10 to 3600000")
            }
            intervalMs = value
            options.removeSubrange(index...(index + 1))
        }
        var checkpointRecords = checkpointRecordsDefault
        if let index = options.firstIndex(of: "--checkpoint-records"), index + 1 < options.count {
            guard let value = UInt64(options[index + 1]), value <= 1_000_000_000 else {
                return usageError("--checkpoint-records must be a whole number of records from 0 to 1000000000")
            }
            checkpointRecords = value
            options.removeSubrange(index...(index + 1))
        }
        guard let values = BackupCommand.pairs(options, names: ["--data", "--to"]) else {
            return usageError("follow needs --data PRIMARY --to STANDBY [--status-interval-ms N] [--checkpoint-records N]")
        }
        // Blocked before anything else, so a stop waits in `sigtimedwait` between passes, never inside one.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let primary = values["--data"]!
        let standby = values["--to"]!
        do throws(BackupError) {
            let start = try StandbySeed.prepare(
                primary: primary, standby: standby, decider: LoyaltyDecider(),
                nowMs: BackupCommand.wallClockMs())
            if case .seeded(let manifest) = start {
                output("follow: seeded \(standby) at sequences \(list(manifest.lastSequences))")
            }
        } catch {
            printError("ledger follow: seeding \(standby): \(error)")
            return 1
        }
        do {
            let follower = try LogFollower(
                primary: primary, standby: standby, decider: LoyaltyDecider(), checkpointRecords: checkpointRecords)
            defer { follower.close() }
            if let pause = getenv(testPauseVariable).map({ String(cString: $0) }) {
                follower.checkpointPhase = { shard, phase in
                    guard phase.rawValue == pause else { return }
                    output("follow: test pause at \(phase.rawValue) in shard \(shard)")
                    sleep(testPauseSeconds)
                }
            }
            let audit = try StandbyAudit(primary: primary, standby: standby)
            defer { audit.close() }
            let stopped = try follow(follower, audit: audit, signals: signals, intervalMs: intervalMs)
            let sequences = try follower.progress().map(\.standbySequence)
            follower.close()
            output("follow: stopped at sequences \(list(sequences)) (signal \(stopped))")
            return 0
        } catch {
            printError("ledger follow: \(error)")
            return 1
        }
    }

    /// Passes until a stop signal; returns the signal. Idle passes wait for it up to `idleWaitMs`. Each pass
    /// copies the log's batches, then the audit trail's new lines (the log first: an admin change's ledger record
    /// is durable before its audit entry is written).
    static func follow(
        _ follower: LogFollower, audit: StandbyAudit, signals: sigset_t, intervalMs: Int
    ) throws -> Int32 {
        var signals = signals
        var meter = FollowMeter()
        output("follow: following \(follower.primary) into \(follower.standby): \(status(try follower.progress()))")
        while true {
            let pass = try follower.pass()
            meter.add(pass)
            meter.auditBytes += try audit.pass()
            for done in try follower.checkpointDue() {
                output(
                    "follow: checkpoint of shard \(done.shard) at sequence \(done.sequence): replayed "
                        + "\(done.recordsReplayed) records, deleted \(done.segmentsDeleted) segments (through "
                        + "sequence \(done.deletedThrough)) in \(done.milliseconds) ms")
            }
            if meter.elapsedMs() >= Int64(intervalMs) {
                output("follow: \(status(try follower.progress())); \(meter.summary())")
                meter = FollowMeter()
            }
            var timeout = timespec(tv_sec: 0, tv_nsec: pass.records == 0 ? idleWaitMs * 1_000_000 : 0)
            let received = sigtimedwait(&signals, nil, &timeout)
            if received > 0 {
                output("follow: \(status(try follower.progress())); \(meter.summary())")
                return received
            }
        }
    }

    static func status(_ shards: [LogFollower.ShardProgress]) -> String {
        let lag = shards.reduce(0) { $0 + $1.lag }
        let parts = shards.map { "shard \($0.shard) \($0.standbySequence)/\($0.primarySequence)" }
        return "lag \(lag) records (" + parts.joined(separator: ", ") + ")"
    }

    static func list(_ sequences: [UInt64]) -> String { sequences.map(String.init).joined(separator: ",") }

    /// A line to standard output, written at once (a pipe would otherwise hold it in a buffer).
    static func output(_ text: String) {
        var line = text + "\n"
        line.withUTF8 { bytes in _ = write(1, bytes.baseAddress, bytes.count) }
    }

    private static func usageError(_ message: String) -> Int32 {
        printError("loyalty-switch ledger: " + message + "\n\n" + LedgerCommand.usage)
        return 2
    }
}

/// What the follower copied since the last status line, and the CPU it spent (`getrusage`).
struct FollowMeter {
    var records: UInt64 = 0
    var batches: UInt64 = 0
    var bytes: UInt64 = 0
    /// Bytes of the audit trail (journal and private file) copied.
    var auditBytes: Int64 = 0
    let startMs = BackupCommand.monotonicMs()
    let startCPUMicroseconds = FollowMeter.cpuMicroseconds()

    mutating func add(_ pass: LogFollower.Pass) {
        records += pass.records
        batches += pass.batches
        bytes += pass.bytes
    }

    func elapsedMs() -> Int64 { BackupCommand.monotonicMs() - startMs }

    func summary() -> String {
        let cpu = Self.cpuMicroseconds() - startCPUMicroseconds
        return "copied \(records) records in \(batches) batches (\(bytes) bytes) and \(auditBytes) bytes of the audit "
            + "trail in \(elapsedMs()) ms, cpu \(cpu / 1000) ms"
    }

    /// User and system CPU time of the process.
    static func cpuMicroseconds() -> Int64 {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int64(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000
            + Int64(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }
}

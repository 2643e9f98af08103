import Ledger
import LoyaltyLedger
import SwitchCore
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// `loyalty-switch ledger backup` and `ledger restore` (docs/backup.md).
enum BackupCommand {
    static let usage = """
               loyalty-switch ledger backup --data DIR --to BACKUP [--bytes-per-second N]
               loyalty-switch ledger restore --from BACKUP --data DIR

        backup   Copy the data directory, while the switch serves or not, into BACKUP (new or empty): the ledger's
                 newest snapshots and their log up to a sequence per shard (cut after the last whole record), the
                 audit journal up to its last whole entry, users and the member directory, notification progress,
                 the history store and import statuses. The copy is verified as `ledger verify` and `audit
                 verify` would, then backup-manifest.json (every file's size, SHA-256 and CRC32C per MiB, the
                 sequence per shard, the time) is written last. Prints the manifest's summary. On any failure
                 (a full disk, damage in the source) BACKUP is left empty and the exit code is 1. With
                 --bytes-per-second N (65536 and up) the copy keeps under N bytes per second, leaving the rest of
                 the disk's bandwidth to a running switch's log syncs.

        restore  Check BACKUP against its manifest (naming a damaged file and byte range), verify it, copy it into
                 DIR (new or empty), verify again. `serve --data DIR` then starts where the backup was taken.
                 Exit code 0 restored, 1 refused (nothing is left in DIR), 2 usage error.
        """

    static func backup(_ options: [String]) -> Int32 {
        // A file size limit (`ulimit -f`) then fails the write with EFBIG, reported like a full disk, instead of
        // killing the process half way.
        signal(SIGXFSZ, SIG_IGN)
        // Behind the switch for the CPU on a shared machine, as the scheduled backup's thread is.
        _ = nice(10)
        let capped = options.contains("--bytes-per-second")
        let names: Set<String> = capped ? ["--data", "--to", "--bytes-per-second"] : ["--data", "--to"]
        guard let values = pairs(options, names: names) else {
            return usageError("backup needs --data DIR --to BACKUP [--bytes-per-second N]")
        }
        var pace: CopyPace?
        if capped {
            let range = CopyPace.bytesPerSecondMin...CopyPace.bytesPerSecondMax
            guard let rate = Int64(values["--bytes-per-second"]!), range.contains(rate) else {
                return usageError(
                    "--bytes-per-second must be a whole number of bytes from \(range.lowerBound) to \(range.upperBound)")
            }
            pace = CopyPace(bytesPerSecond: rate)
        }
        let started = monotonicMs()
        do throws(BackupError) {
            let manifest = try DataBackup.run(
                data: values["--data"]!, to: values["--to"]!, decider: LoyaltyDecider(), nowMs: wallClockMs(),
                pace: pace)
            print(summary("backup", values["--to"]!, manifest, elapsedMs: monotonicMs() - started))
            if let pace {
                print("paced at \(pace.bytesPerSecond) bytes/s: waited \(pace.waitedNs / 1_000_000) ms")
            }
            return 0
        } catch {
            printError("ledger backup: \(error)")
            return 1
        }
    }

    static func restore(_ options: [String]) -> Int32 {
        signal(SIGXFSZ, SIG_IGN)
        guard let values = pairs(options, names: ["--from", "--data"]) else {
            return usageError("restore needs --from BACKUP --data DIR")
        }
        let started = monotonicMs()
        do throws(BackupError) {
            let manifest = try DataRestore.run(from: values["--from"]!, to: values["--data"]!, decider: LoyaltyDecider())
            print(summary("restore", values["--data"]!, manifest, elapsedMs: monotonicMs() - started))
            return 0
        } catch {
            printError("ledger restore: \(error)")
            return 1
        }
    }

    static func summary(_ verb: String, _ directory: String, _ manifest: BackupManifest, elapsedMs: Int64) -> String {
        var lines = [
            "\(verb) \(directory)",
            "taken at: \(UTCTime.rfc3339(milliseconds: manifest.createdAtMs))",
            "files: \(manifest.files.count), bytes: \(manifest.totalBytes)",
            "audit entries: \(manifest.auditEntries)",
        ]
        for (shard, sequence) in manifest.lastSequences.enumerated() {
            lines.append("shard \(shard): last sequence \(sequence)")
        }
        lines.append("elapsed: \(UTCTime.seconds(milliseconds: elapsedMs))")
        lines.append("result: OK")
        return lines.joined(separator: "\n")
    }

    /// Exactly the named options, each once with a value (`--name VALUE`).
    static func pairs(_ options: [String], names: Set<String>) -> [String: String]? {
        guard options.count == names.count * 2 else { return nil }
        var values: [String: String] = [:]
        for index in stride(from: 0, to: options.count, by: 2) {
            guard names.contains(options[index]), values[options[index]] == nil, !options[index + 1].isEmpty else {
                return nil
            }
            values[options[index]] = options[index + 1]
        }
        return values
    }

    static func wallClockMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    static func monotonicMs() -> Int64 { Int64(monotonicNanoseconds() / 1_000_000) }

    private static func usageError(_ message: String) -> Int32 {
        printError("loyalty-switch ledger: " + message + "\n\n" + LedgerCommand.usage)
        return 2
    }
}

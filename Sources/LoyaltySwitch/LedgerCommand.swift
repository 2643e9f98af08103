import Ledger
import Loyalty
import LoyaltyLedger
import SwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// `loyalty-switch ledger ...`: operations commands on a ledger data directory.
///
/// `arguments` are those after `ledger`. Returns the process exit code: 0 sound, 1 damaged, 2 usage error.
enum LedgerCommand {
    static let usage = """
        usage: loyalty-switch ledger verify --data DIR
               loyalty-switch ledger breakage --data DIR
               loyalty-switch ledger settlement --data DIR [--config FILE]
        \(BackupCommand.usage)
        \(FollowCommand.usage)

        verify   Recover the data directory read-only (snapshots, every segment's header and size, sequences
                 across segments, every log record's checksum, sequence and chain, replayed outcomes,
                 cross-table invariants) and print totals: members, cards, balances per asset, records, last
                 sequence per shard. Changes no file. A torn tail (the last batch, past what the segment's
                 header says was acknowledged, cut by a crash) is reported and left for the next open to zero.
                 Anything that loses acknowledged records is damage, refused exactly as `serve` refuses it: a
                 bad record before the tail, a gap in sequences, a segment cut short or missing, a log that
                 ends before its header or the snapshot say it did. Segments written before segment
                 headers (a directory from an earlier build) are read as that build wrote them, with the
                 same checks of size, sequences and records.
                 Exit code 0 when the directory would open, 1 when it would refuse (the damage is named by
                 file, offset and sequences on standard error; `serve --accept-log-damage` starts anyway,
                 without what follows the damage), 2 on a usage error.

        breakage Recover the data directory read-only, as verify does, and print CSV: per shard (then a total
                 row) the points and store credit members still hold in lots (outstanding) and the amounts that
                 expired unused (breakage). Same exit codes as verify.

        settlement Recover read-only and print CSV: per merchant pair, what the merchant where points or credit
                 were earned (payer) owes the coalition merchant where they were spent (payee): points, credit
                 and their value in minor units. With --config, merchants are named by the rules' ids.
        """

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.isEmpty || arguments.contains("--help") || arguments.contains("-h") || arguments == ["help"] {
            print(usage)
            return arguments.isEmpty ? 2 : 0
        }
        if arguments[0] == "breakage" { return breakage(Array(arguments.dropFirst())) }
        if arguments[0] == "settlement" { return settlement(Array(arguments.dropFirst())) }
        if arguments[0] == "backup" { return BackupCommand.backup(Array(arguments.dropFirst())) }
        if arguments[0] == "restore" { return BackupCommand.restore(Array(arguments.dropFirst())) }
        if arguments[0] == "follow" { return FollowCommand.run(Array(arguments.dropFirst())) }
        guard arguments[0] == "verify" else { return usageError("unknown ledger command '\(arguments[0])'") }
        guard let directory = dataDirectory(Array(arguments.dropFirst())) else {
            return usageError("verify needs --data DIR")
        }
        let result = LedgerVerifier.verify(directory: directory, decider: LoyaltyDecider())
        print(result.report)
        if let error = result.error { printError("ledger verify: " + error) }
        return result.isSound ? 0 : 1
    }

    /// `ledger breakage`: the lot counters as CSV on standard output.
    static func breakage(_ options: [String]) -> Int32 {
        guard let directory = dataDirectory(options) else { return usageError("breakage needs --data DIR") }
        switch LedgerBreakage.report(directory: directory, decider: LoyaltyDecider()) {
        case .success(let csv):
            print(csv, terminator: "")
            return 0
        case .failure(let error):
            printError("ledger breakage: " + error.description)
            return 1
        }
    }

    /// `ledger settlement`: the coalition settlement as CSV on standard output.
    static func settlement(_ options: [String]) -> Int32 {
        var options = options
        var rules: Loyalty.Program?
        if let index = options.firstIndex(of: "--config"), index + 1 < options.count {
            do {
                rules = try SwitchConfiguration.load(path: options[index + 1]).rules
            } catch {
                printError("ledger settlement: \(error)")
                return 2
            }
            options.removeSubrange(index...(index + 1))
        }
        guard let directory = dataDirectory(options) else { return usageError("settlement needs --data DIR") }
        do throws(LedgerError) {
            var configuration = LedgerConfiguration()
            configuration.decider = LoyaltyDecider()
            let totals = try Ledger.inspect(directory: directory, configuration: configuration)
            print(LedgerSettlement.csv(totals) { rules?.merchant(withTag: $0)?.description }, terminator: "")
            return 0
        } catch {
            printError("ledger settlement: " + error.description)
            return 1
        }
    }

    /// Accepts `--data DIR` and `--data=DIR`, nothing else.
    static func dataDirectory(_ options: [String]) -> String? {
        if options.count == 2 && options[0] == "--data" { return options[1] }
        if options.count == 1 && options[0].hasPrefix("--data=") { return String(options[0].dropFirst(7)) }
        return nil
    }

    private static func usageError(_ message: String) -> Int32 {
        printError("loyalty-switch ledger: " + message + "\n\n" + usage)
        return 2
    }

    private static func printError(_ text: String) {
        let line = text + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

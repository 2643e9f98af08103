import AdminAccess

/// `loyalty-switch lottery verify`: every recorded draw re-run from the audit trail, read-only (also while the
/// switch serves the directory). The trail is read in order with its hash chain checked (`AuditJournalFile.read`);
/// each `lotteries.draw` is checked against the entries before it: their digest, then its winners re-drawn from
/// its seed by its algorithm. A chain can be rewritten whole by whoever can write the file; a draw re-run cannot be
/// made to agree with changed entrants or winners without finding a seed that does, which the recorded seed pins.
public enum LotteryVerifier {
    public struct Report: Sendable {
        public var path: String
        /// Draws re-run (of `lottery` when one was named), and how many of them reproduced.
        public var drawsChecked = 0
        public var lotteries = 0
        /// The first draw that does not reproduce or lottery entry that cannot be read, in words.
        public var problem: String?
        /// Where the hash chain breaks, if it does (reading stops there).
        public var damage: AuditDamage?
    }

    /// `lottery`: only that lottery's entries and draw (`lty_…`); nil: every lottery.
    public static func verify(dataDirectory: String, lottery: String? = nil) throws(AccessError) -> Report {
        let path = AuditJournalFile.directory(dataDirectory: dataDirectory) + "/" + AuditJournalFile.journalName
        var report = Report(path: path)
        var lotteries: [UInt64: LotteryBook.Lottery] = [:]
        let target = lottery.map { "lotteries/" + $0 }
        let state = try AuditJournalFile.read(path: path) { entry, _ in
            guard entry.action.hasPrefix("lotteries."), target == nil || entry.target == target else { return }
            let problem = LotteryTrail.apply(entry, to: &lotteries)
            if entry.action == LotteryTrail.drawnAction { report.drawsChecked += 1 }
            if report.problem == nil { report.problem = problem }
        }
        report.lotteries = lotteries.count
        report.damage = state.damage
        return report
    }
}

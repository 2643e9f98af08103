/// What `loyalty-switch ledger verify --data DIR` does: a read-only recovery of every shard (snapshot checksum,
/// every record's checksum, sequence, chain and replayed outcome, then cross-table invariants), and a report.
public enum LedgerVerifier {
    public struct Result: Sendable {
        /// False when the directory would refuse to open (damage, foreign format).
        public var isSound: Bool
        /// Human-readable report for standard output.
        public var report: String
        /// The reason it is not sound, for standard error.
        public var error: String?
    }

    /// `decider` reads the decisions the log and snapshots carry (the loyalty rules' `LoyaltyDecider`).
    public static func verify(directory: String, decider: any Decider) -> Result {
        let totals: LedgerTotals
        var configuration = LedgerConfiguration()
        configuration.decider = decider
        do throws(LedgerError) {
            totals = try Ledger.inspect(directory: directory, configuration: configuration)
        } catch {
            return Result(
                isSound: false, report: "ledger verify \(directory)\nresult: DAMAGED", error: error.description)
        }
        return Result(isSound: true, report: report(directory: directory, totals), error: nil)
    }

    static func report(directory: String, _ totals: LedgerTotals) -> String {
        var lines = [
            "ledger verify \(directory)",
            "shards: \(totals.shardCount)",
            "members: \(totals.members)",
            "cards: \(totals.cards) (blocked \(totals.cardsBlocked), replaced \(totals.cardsReplaced))",
            "balance points: \(totals.balance.points) (held \(totals.held.points))",
            "balance credit: \(totals.balance.credit) (held \(totals.held.credit))",
            "active holds: \(totals.activeHolds)",
            "idempotency keys remembered: \(totals.idempotencyKeys)",
            "transfers pending: \(totals.pendingTransfers)",
            "lots: \(totals.activeLots) (expired points \(totals.lotTotals.expired.points), "
                + "credit \(totals.lotTotals.expired.credit))",
            "rules purchases counted: \(totals.loyaltyPurchases) (volume \(totals.loyaltyVolumeMinor)); members by tier: "
                + totals.membersByTier.map(String.init).joined(separator: " / "),
            "coalition settlement pairs: \(totals.settlements.count) (value "
                + "\(totals.settlements.reduce(Int64(0)) { $0 + $1.valueMinor }))",
            "records: \(totals.recordsVerified) verified, \(totals.recordsReplayed) after the snapshots",
        ]
        for shard in 0..<totals.shardCount {
            lines.append(
                "shard \(shard): snapshot at sequence \(totals.snapshotSequences[shard]), "
                    + "last sequence \(totals.lastSequences[shard])")
        }
        for torn in totals.tornTails {
            lines.append(
                "torn tail: \(torn.file) at offset \(torn.offset) (\(torn.bytesDiscarded) bytes of an unacknowledged "
                    + "batch; the next open truncates it)")
        }
        lines.append("result: OK")
        return lines.joined(separator: "\n")
    }
}

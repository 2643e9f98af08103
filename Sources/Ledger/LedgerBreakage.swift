/// What `loyalty-switch ledger breakage --data DIR` prints: per shard, the value members still hold in lots
/// and the value that expired, per asset, as CSV. Read-only, like `ledger verify` (a full recovery in memory).
public enum LedgerBreakage {
    public static let csvHeader = "shard,points_outstanding,points_expired,credit_outstanding,credit_expired"

    /// The CSV (header, one row per shard, then a `total` row), or the reason the directory cannot be read.
    public static func report(directory: String, decider: any Decider) -> Result<String, LedgerError> {
        var configuration = LedgerConfiguration()
        configuration.decider = decider
        do throws(LedgerError) {
            return .success(csv(try Ledger.inspect(directory: directory, configuration: configuration)))
        } catch {
            return .failure(error)
        }
    }

    public static func csv(_ totals: LedgerTotals) -> String {
        ([csvHeader] + rows(totals).map { $0.joined(separator: ",") }).joined(separator: "\n") + "\n"
    }

    /// The rows under the header, one field per column (the `breakage` report writes them as RFC 4180 CSV).
    public static func rows(_ totals: LedgerTotals) -> [[String]] {
        var rows: [[String]] = []
        for (shard, counters) in totals.lotCounters.enumerated() {
            rows.append(row(String(shard), counters))
        }
        rows.append(row("total", totals.lotTotals))
        return rows
    }

    private static func row(_ name: String, _ counters: LotCounters) -> [String] {
        [
            name, String(counters.outstanding.points), String(counters.expired.points),
            String(counters.outstanding.credit), String(counters.expired.credit),
        ]
    }
}

extension LedgerTotals {
    /// The lot counters of all shards added up.
    public var lotTotals: LotCounters {
        var sum = LotCounters()
        for counters in lotCounters {
            sum.expired.points += counters.expired.points
            sum.expired.credit += counters.expired.credit
            sum.outstanding.points += counters.outstanding.points
            sum.outstanding.credit += counters.outstanding.credit
        }
        return sum
    }
}

/// `ledger settlement`: what coalition merchants owe each other, as CSV.
public enum LedgerSettlement {
    public static let csvHeader = "payer,payee,points,credit_minor,value_minor"

    /// One row per (payer, payee) pair: the merchant where the value was earned owes the merchant where it was
    /// spent. `name` turns a merchant tag into its id (the rules' merchants); unknown tags print as hex.
    public static func csv(_ totals: LedgerTotals, name: (UInt32) -> String?) -> String {
        let lines = rows(totals, name: name).map { $0.joined(separator: ",") }
        return ([csvHeader] + lines).joined(separator: "\n") + "\n"
    }

    /// The rows under the header; `including` keeps only pairs it accepts (a merchant user's own merchants).
    public static func rows(
        _ totals: LedgerTotals, name: (UInt32) -> String?, including: (SettlementRecord) -> Bool = { _ in true }
    ) -> [[String]] {
        var rows: [[String]] = []
        for record in totals.settlements where record.points != 0 || record.creditMinor != 0 || record.valueMinor != 0 {
            guard including(record) else { continue }
            let payer = name(record.payer) ?? "tag:" + String(record.payer, radix: 16)
            let payee = name(record.payee) ?? "tag:" + String(record.payee, radix: 16)
            rows.append([payer, payee, String(record.points), String(record.creditMinor), String(record.valueMinor)])
        }
        return rows
    }
}

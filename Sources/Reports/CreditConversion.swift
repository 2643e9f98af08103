import Ledger

/// The `credit-conversion` report: per UTC day, the store credit members were given by sales (`issued`, less what
/// refunds and reversals took back), spent in payments (less what reversals gave back), expired by the lot sweep,
/// and outstanding at the day's end.
///
/// Outstanding is counted back from the books: the members' credit in the shards' checkpoint views (`anchor`,
/// what `GET /v1/members/{id}` shows, summed), less every change the store saw after the day's end (up to the
/// views' last records). So the newest day's figure is the books' own; an earlier day's is exact as long as
/// every change of credit after it was a sale, a refund, a reversal or a sweep's expiry. What the store does not
/// see makes earlier days differ by its amount: an operator's credit adjustment, credit from a bonus or an
/// engagement event, and value expired when its member was next served before the sweep reached it (docs/sales.md).
/// Memory: one sum per day in the store from `from` on.
enum CreditConversion {
    struct Day {
        var issued: Int64 = 0
        var spent: Int64 = 0
        var expired: Int64 = 0
        /// What the day changed of the outstanding credit (issued - spent - expired).
        var net: Int64 { issued - spent - expired }
    }

    /// The members' credit over every shard's checkpoint view of `directory` (read-only, one shard at a time).
    static func anchor(directory: String, configuration: LedgerConfiguration) throws(ReportError) -> SalesReports.CreditAnchor {
        var anchor = SalesReports.CreditAnchor(outstandingMinor: 0, lastSequences: [])
        do throws(LedgerError) {
            for shard in 0..<(try Ledger.recordedShardCount(directory: directory)) {
                let view = try Ledger.shardView(
                    directory: directory, shard: shard, configuration: configuration, reading: .rows)
                for index in 0..<view.memberCount { anchor.outstandingMinor += view.member(index).balance.credit }
                anchor.lastSequences.append(view.lastSequence)
            }
        } catch {
            throw .unreadable(error.description)
        }
        return anchor
    }

    static func write(
        _ query: SalesReportQuery, store: SalesStore, anchor: SalesReports.CreditAnchor, to csv: inout CSVWriter
    ) throws(ReportError) {
        for (shard, indexed) in store.indexedSequences.enumerated() where indexed < anchor.lastSequences[shard] {
            throw .unreadable(
                "the sales store has shard \(shard)'s log through record \(indexed), the books through "
                    + "\(anchor.lastSequences[shard]): it is catching up, try again in a moment")
        }
        var days: [Int64: Day] = [:]
        try SalesReports.scan(store, fromMs: query.fromMs, toMs: Int64.max / 2) { (entry, _) throws(ReportError) in
            let shard = Int(entry.shard)
            guard shard < anchor.lastSequences.count else {
                throw .unreadable("the sales store names shard \(shard); the ledger has \(anchor.lastSequences.count)")
            }
            var change = Day()
            if entry.kind == .expiry {
                change.expired = entry.spent.credit
            } else {
                change.issued = entry.earned.credit
                change.spent = entry.spent.credit
            }
            // Entries after the views' last records are not in the anchor: left out of the count back.
            guard entry.sequence <= anchor.lastSequences[shard] else { return }
            let day = entry.timeMs / 86_400_000
            days[day, default: Day()].issued += change.issued
            days[day, default: Day()].spent += change.spent
            days[day, default: Day()].expired += change.expired
        }
        let ordered = days.keys.sorted()
        // Outstanding at the end of each day, from the newest back.
        var outstanding = anchor.outstandingMinor
        var atEnd: [Int64: Int64] = [:]
        for day in ordered.reversed() {
            atEnd[day] = outstanding
            outstanding -= days[day]!.net
        }
        for day in ordered where day * 86_400_000 < query.toMs {
            let sums = days[day]!
            try csv.row([
                SalesReports.day(day), String(sums.issued), String(sums.spent), String(sums.expired),
                String(atEnd[day]!),
            ])
        }
    }
}

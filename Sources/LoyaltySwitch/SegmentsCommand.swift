import Glibc
import Ledger
import Loyalty
import LoyaltyLedger
import Reports
import SwitchCore

/// `loyalty-switch report segments --data DIR`: the segments report (RFM, segment, VIP per member) as CSV, as
/// `GET /v1/reports/segments.csv` makes it, read-only.
enum SegmentsCommand {
    static let usage = """
        usage: loyalty-switch report segments --data DIR [--config FILE] [--from T] [--to T] [--vip-top N]
               [--vip-min-minor X] [--source sales|lifetimeFigures] [--out FILE]

        One row per member with a purchase in [from, to) (RFC 3339 times or dates, UTC; default: the
        segments.windowDays before now): recency, frequency, monetary, their 1-5 quintile scores, the segment, the
        VIP flag (top N by monetary or monetary >= X), tier and masked first card (docs/segments.md). --source
        (default segments.source of --config, else sales) names where purchases come from: the sales store
        (DIR/sales; with the switch stopped it is first caught up from the log, while served it is read as the
        switch last marked it), or lifetimeFigures, an approximation from each member's lifetime counts (tests,
        demonstrations). Tier and card come from each shard's checkpoint view, read-only. Exit 0 when written, 1 when DIR cannot be read, 2 on a usage error.
        """

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return 0
        }
        let options: CommandLineOptions
        do {
            options = try CommandLineOptions(
                arguments, valued: ["data", "config", "from", "to", "vip-top", "vip-min-minor", "source", "out"],
                flags: [])
        } catch {
            return usageError(error.message)
        }
        guard options.positionals.isEmpty else { return usageError("report segments takes no other NAME") }
        guard let directory = options.values["data"] else { return usageError("report needs --data DIR") }
        var configuration = SwitchConfiguration()
        if let path = options.values["config"] {
            do { configuration = try SwitchConfiguration.load(path: path) } catch { return usageError("\(error)") }
        }
        var settings = configuration.segments
        if let name = options.values["source"] {
            guard let source = SegmentsConfiguration.Source(rawValue: name) else {
                return usageError("--source must be sales or lifetimeFigures")
            }
            settings.source = source
        }
        let query: SegmentsQuery
        do throws(ReportError) {
            let names = ["from": "from", "to": "to", "vip-top": "vipTop", "vip-min-minor": "vipMinMinor"]
            let parameters = names.keys.sorted().compactMap { name in options.values[name].map { (names[name]!, $0) } }
            query = try SegmentsQuery.parse(
                parameters, nowMs: LedgerConfiguration.realtimeMs(), windowDays: settings.windowDays)
        } catch {
            return usageError(error.description)
        }
        return write(query, directory: directory, rules: configuration.rules, settings: settings, out: options.values["out"])
    }

    static func write(
        _ query: SegmentsQuery, directory: String, rules: Loyalty.Program?, settings: SegmentsConfiguration,
        out: String?
    ) -> Int32 {
        var ledgerConfiguration = LedgerConfiguration()
        ledgerConfiguration.decider = LoyaltyDecider(rules: rules)
        let index = MemberSearchIndex(membersMax: Int(Int32.max) - 1, cardsMax: Int.max)
        do throws(LedgerError) {
            for shard in 0..<(try Ledger.recordedShardCount(directory: directory)) {
                _ = try MemberSearchIndexer.load(
                    shard: shard, directory: directory, configuration: ledgerConfiguration, into: index)
            }
        } catch {
            printError("report segments: \(error)")
            return 1
        }
        guard let output = CSVOutput(path: out, label: "report segments") else { return 1 }
        let source: any MemberActivitySource
        if settings.source == .sales {
            do {
                let opened = try SalesStore.openForReport(root: directory)
                if let read = opened.recordsRead {
                    printError("report segments: the sales store caught up from the log (\(read) records read)")
                }
                source = opened.store
            } catch {
                printError("report segments: \(error)")
                return 1
            }
        } else {
            source = LifetimeFiguresActivity(index: index)
        }
        var csv = output.writer()
        do throws(ReportError) {
            try SegmentsReport.write(
                query, source: source, membersMax: settings.membersMax,
                member: { id in index.row(id).map { ($0.tier, $0.firstCard) } },
                context: AdminReports.context(rules: rules, access: nil), to: &csv)
            printError("report segments: \(csv.rowCount - 1) rows (source \(settings.source.rawValue))")
            return 0
        } catch {
            printError("report segments: \(error)")
            return 1
        }
    }

    static func usageError(_ message: String) -> Int32 {
        printError("error: \(message)\n\(usage)")
        return 2
    }
}

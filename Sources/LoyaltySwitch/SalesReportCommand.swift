import Glibc
import Ledger
import Loyalty
import LoyaltyLedger
import Reports
import SwitchCore

/// `loyalty-switch report sales|items|credit-conversion --data DIR`: the sales store's reports as CSV, as
/// `GET /v1/reports/NAME.csv` makes them.
enum SalesReportCommand {
    static let usage = """
        usage: loyalty-switch report sales|items|credit-conversion --data DIR [--config FILE] [--from T] [--to T]
               [--merchant ID] [--out FILE]

        Writes the report as CSV (RFC 4180, UTF-8, a header row, CRLF line ends) to standard output or FILE, as
        GET /v1/reports/NAME.csv does (docs/sales.md). --from/--to: RFC 3339 times or dates (midnight UTC), the
        window [from, to) (default: all the store keeps until now); --merchant keeps one merchant's rows (sales,
        items). With the switch stopped, the sales store (DIR/sales) is first brought up to the end of the log
        (standard error says how many log records were read); while a switch serves DIR it is read as the switch
        last marked it, and nothing is written. Exit 0 when written, 1 when DIR cannot be read, 2 on a usage error.
        """

    /// True when `name` is one of this command's reports.
    static func handles(_ name: String?) -> Bool { name.flatMap(SalesReportName.init(rawValue:)) != nil }

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return 0
        }
        let options: CommandLineOptions
        do {
            options = try CommandLineOptions(
                arguments, valued: ["data", "config", "merchant", "from", "to", "out"], flags: [])
        } catch {
            return usageError(error.message)
        }
        guard options.positionals.count == 1, let name = SalesReportName(rawValue: options.positionals[0]) else {
            return usageError("report needs exactly one NAME: sales, items or credit-conversion")
        }
        guard let directory = options.values["data"] else { return usageError("report needs --data DIR") }
        var rules: Loyalty.Program?
        if let path = options.values["config"] {
            do { rules = try SwitchConfiguration.load(path: path).rules } catch { return usageError("\(error)") }
        }
        let query: SalesReportQuery
        do throws(ReportError) {
            let parameters = ["from", "to", "merchant"].compactMap { key in options.values[key].map { (key, $0) } }
            query = try SalesReportQuery.parse(
                name: name, parameters: parameters, nowMs: LedgerConfiguration.realtimeMs()
            ) { ShortIdentifier($0).map(MerchantName.init) }
        } catch {
            return usageError(error.description)
        }
        return write(query, directory: directory, rules: rules, out: options.values["out"])
    }

    static func write(_ query: SalesReportQuery, directory: String, rules: Loyalty.Program?, out: String?) -> Int32 {
        let label = "report \(query.name.rawValue)"
        var configuration = LedgerConfiguration()
        configuration.decider = LoyaltyDecider(rules: rules)
        var store: SalesStore
        var anchor: SalesReports.CreditAnchor?
        do {
            // The books first: a store opened after them holds at least what they hold.
            if query.name == .creditConversion {
                anchor = try SalesReports.creditAnchor(directory: directory, configuration: configuration)
            }
            let opened = try SalesStore.openForReport(root: directory)
            store = opened.store
            if let read = opened.recordsRead {
                printError("\(label): the sales store caught up from the log (\(read) records read)")
            } else if let anchor {
                store = try waitForStore(store, anchor: anchor, directory: directory)
            }
        } catch {
            printError("\(label): \(error)")
            return 1
        }
        guard let output = CSVOutput(path: out, label: label) else { return 1 }
        var csv = output.writer()
        do throws(ReportError) {
            try SalesReports.write(
                query, store: store, anchor: anchor, context: AdminReports.context(rules: rules, access: nil), to: &csv)
            printError("\(label): \(csv.rowCount - 1) rows")
            return 0
        } catch {
            printError("\(label): \(error)")
            return 1
        }
    }

    /// Beside a serving switch: reads the store again (for at most 5 s) until its mark covers the books read.
    static func waitForStore(
        _ first: SalesStore, anchor: SalesReports.CreditAnchor, directory: String
    ) throws -> SalesStore {
        var store = first
        for _ in 0..<100 where zip(store.indexedSequences, anchor.lastSequences).contains(where: { $0 < $1 }) {
            usleep(50_000)
            store = try SalesStore(readingBeside: directory, shardCount: anchor.lastSequences.count)
        }
        return store
    }

    static func usageError(_ message: String) -> Int32 {
        printError("error: \(message)\n\(usage)")
        return 2
    }
}

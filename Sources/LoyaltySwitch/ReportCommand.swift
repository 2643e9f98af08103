import Glibc
import Ledger
import Loyalty
import LoyaltyLedger
import Reports
import SwitchCore
import SystemCalls

/// `loyalty-switch report NAME --data DIR`: a report as CSV, read-only, also while a switch serves DIR.
enum ReportCommand {
    static let usage = """
        usage: loyalty-switch report NAME --data DIR [--config FILE] [--merchant ID] [--out FILE]

        Writes the report NAME as CSV (RFC 4180, UTF-8, a header row, CRLF line ends) to standard output or FILE,
        as GET /v1/reports/NAME.csv does. NAME: \(ReportName.allCases.map(\.rawValue).joined(separator: ", ")).
        The books are read read-only from each shard's newest checkpoint and the log after it (the switch may be
        serving DIR; nothing there is written). Standard error says how fresh it is: per shard, the last record's
        sequence, the checkpoint it started from and the newest record's time. --config names the switch's
        configuration (its rules: merchant ids for settlement and --merchant); --merchant keeps the rows of one
        merchant (settlement). Names and phones are the admin API's (the CLI does not open the member directory,
        which the serving switch holds): empty here. Exit 0 when written, 1 when DIR cannot be read, 2 on a
        usage error.
        """

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.first == "segments" { return SegmentsCommand.run(Array(arguments.dropFirst())) }
        if arguments.isEmpty || arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return arguments.isEmpty ? 2 : 0
        }
        let options: CommandLineOptions
        do {
            options = try CommandLineOptions(
                arguments, valued: ["data", "config", "merchant", "from", "to", "out"], flags: [])
        } catch {
            return usageError(error.message)
        }
        guard options.positionals.count == 1 else { return usageError("report needs exactly one NAME") }
        guard let directory = options.values["data"] else { return usageError("report needs --data DIR") }
        var rules: Loyalty.Program?
        if let path = options.values["config"] {
            do {
                rules = try SwitchConfiguration.load(path: path).rules
            } catch {
                return usageError("\(error)")
            }
        }
        let query: ReportQuery
        do throws(ReportError) {
            let parameters = ["from", "to", "merchant"].compactMap { name in options.values[name].map { (name, $0) } }
            query = try ReportQuery.parse(name: options.positionals[0], parameters: parameters) {
                AdminReports.merchantTag($0, rules: rules)
            }
        } catch {
            return usageError(error.description)
        }
        return write(query, directory: directory, rules: rules, out: options.values["out"])
    }

    static func write(_ query: ReportQuery, directory: String, rules: Loyalty.Program?, out: String?) -> Int32 {
        let descriptor = out.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? 1
        guard descriptor >= 0 else {
            printError("report: cannot open \(out ?? ""): \(String(cString: strerror(errno)))")
            return 1
        }
        defer { if out != nil { close(descriptor) } }
        var configuration = LedgerConfiguration()
        configuration.decider = LoyaltyDecider(rules: rules)
        var csv = CSVWriter { chunk throws(ReportError) in
            let failure = chunk.withUnsafeBytes { writeAll($0, to: descriptor) }
            if let failure { throw .unreadable("cannot write the output: " + failure) }
        }
        do throws(ReportError) {
            let asOf = try Reports.write(
                query, directory: directory, configuration: configuration,
                context: AdminReports.context(rules: rules, access: nil), to: &csv)
            printError("report \(query.name.rawValue): \(csv.rowCount - 1) rows; as of \(asOf)")
            return 0
        } catch {
            printError("report \(query.name.rawValue): \(error)")
            return 1
        }
    }

    /// Writes every byte (retrying EINTR and short writes); the reason when it cannot.
    static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> String? {
        do throws(FileCallFailure) {
            try FileCalls.writeAll(descriptor, bytes, path: "")
            return nil
        } catch {
            return String(cString: strerror(error.errorNumber))
        }
    }

    static func usageError(_ message: String) -> Int32 {
        printError("error: \(message)\n\(usage)")
        return 2
    }
}

import Foundation
import SwitchCore

/// `loyalty-switch lottery verify`: re-runs every recorded lottery draw from the audit trail.
enum LotteryCommand {
    static let usage = """
        usage: loyalty-switch lottery verify --data DIR [--lottery ID]

        Reads DIR/audit/journal.jsonl (its hash chain checked as audit verify does) and re-runs every recorded
        draw (lotteries.draw) from the entries before it (lotteries.enter): the digest of the sorted
        memberId:entries list must be the recorded one and the recorded seed must draw the recorded winners with
        the recorded algorithm (docs/lotteries.md). With --lottery, only that lottery. Changes nothing, also while
        the switch serves DIR. Exit 0 when every draw reproduces and the chain is intact, 1 naming the first draw
        that does not reproduce (or the first broken entry), 2 on a usage error.
        """

    static func run(_ arguments: [String]) -> Int32 {
        let options: CommandLineOptions
        switch SubcommandOptions.parse(
            arguments, command: "lottery", subcommand: "verify", valued: ["data", "lottery"], usage: usage)
        {
        case .options(let parsed): options = parsed
        case .exit(let status): return status
        }
        guard let directory = options.values["data"] else { return usageError("lottery verify needs --data DIR") }
        let lottery = options.values["lottery"]
        if let lottery, !(lottery.hasPrefix("lty_") && lottery.utf8.count == 20) {
            return usageError("--lottery must be a lottery id (lty_ and 16 hexadecimal digits), not \(lottery)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            printError("lottery verify: \(directory) is not a directory")
            return 1
        }
        let report: LotteryVerifier.Report
        do {
            report = try LotteryVerifier.verify(dataDirectory: directory, lottery: lottery)
        } catch {
            printError("lottery verify: \(error)")
            return 1
        }
        if let problem = report.problem {
            printError("lottery verify: \(report.path): \(problem)")
            return 1
        }
        if let damage = report.damage {
            printError("lottery verify: the audit trail is broken, draws after it were not checked: \(damage)")
            return 1
        }
        let scope = lottery.map { "lottery \($0)" } ?? "\(report.lotteries) lotteries"
        print("\(report.path): \(scope), \(report.drawsChecked) draws re-run, OK")
        return 0
    }

    static func usageError(_ message: String) -> Int32 {
        printError("error: \(message)\n\(usage)")
        return 2
    }
}

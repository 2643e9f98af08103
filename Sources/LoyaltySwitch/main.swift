import Glibc

/// `loyalty-switch COMMAND ...`: one executable for the switch and its tools.
let usage = """
    usage: loyalty-switch COMMAND [OPTIONS]

    commands:
      serve      run the switch (wire contract v1); with no options, the embedded default configuration
      iso        decode and encode ISO 8583 messages (iso --help)
      ledger     inspect a ledger data directory (ledger --help)
      loadgen    load-test a running switch: throughput, latency percentiles, checked answers (loadgen --help)
      admin      admin init: the first admin user of a data directory and its token (admin --help)
      audit      audit verify: recompute the audit trail's hash chain (audit --help)
      lottery    lottery verify: re-run every recorded lottery draw from the audit trail (lottery --help)
      import     import members: members from a CSV file, with the switch stopped (import --help)
      report     a report as CSV (members, cards, tiers, breakage, settlement, sales, items...), also while served (report --help)

    Run `loyalty-switch COMMAND --help` for a command's options.
    """

let arguments = Array(CommandLine.arguments.dropFirst())
let status: Int32
switch arguments.first {
case "iso": status = ISOCommand.run(Array(arguments.dropFirst()))
case "serve": status = ServeCommand.run(Array(arguments.dropFirst()))
case "loadgen": status = LoadgenCommand.run(Array(arguments.dropFirst()))
case "ledger": status = LedgerCommand.run(Array(arguments.dropFirst()))
case "admin": status = AdminCommand.run(Array(arguments.dropFirst()))
case "audit": status = AuditCommand.run(Array(arguments.dropFirst()))
case "lottery": status = LotteryCommand.run(Array(arguments.dropFirst()))
case "import": status = ImportCommand.run(Array(arguments.dropFirst()))
case "report" where SalesReportCommand.handles(arguments.dropFirst().first):
    status = SalesReportCommand.run(Array(arguments.dropFirst()))
case "report": status = ReportCommand.run(Array(arguments.dropFirst()))
case "--help", "-h", "help":
    print(usage)
    status = 0
case nil:
    printError(usage)
    status = 2
default:
    printError("error: unknown command '\(arguments[0])'\n\(usage)")
    status = 2
}
exit(status)

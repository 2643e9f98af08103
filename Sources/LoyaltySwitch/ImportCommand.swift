import Glibc
import Network
import SwitchCore

/// `loyalty-switch import members FILE --data DIR`: members from a CSV file, with the switch stopped.
enum ImportCommand {
    static let usage = """
        usage: loyalty-switch import members FILE --data DIR [--config FILE]

        Imports members from FILE, a CSV file (RFC 4180, UTF-8, a byte order mark allowed) whose first row is the
        header pan,name,phone,birthday,points,credit. Each row enrols its card (as POST /v1/members does) and
        records its points and credit as migration adjustments; a bad row is reported (row, column, reason) and
        never stops the others. A card already enrolled is skipped and an opening balance already recorded for a
        card is not recorded again, so running the same file twice changes nothing, and running it again after
        an interruption finishes it. The file is streamed: any size, bounded memory. A progress line is written
        to standard error as it goes; the last line (standard output) says how it ended. The status is kept in
        DIR/imports/ID.json. Give the --config of the switch that serves DIR (its shards and limits).
        Refused while a switch serves DIR (stop it first, or use POST /v1/imports/members).
        Exit 0 when every row was read (rows may have been rejected: see the line), 1 when the import could not
        run or stopped early, 2 on a usage error.
        """

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.isEmpty || arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return arguments.isEmpty ? 2 : 0
        }
        guard arguments[0] == "members" else { return usageError("unknown import command '\(arguments[0])'") }
        let options: CommandLineOptions
        do {
            options = try CommandLineOptions(Array(arguments.dropFirst()), valued: ["data", "config"], flags: [])
        } catch {
            return usageError(error.message)
        }
        guard options.positionals.count == 1 else { return usageError("import members needs exactly one FILE") }
        guard let data = options.values["data"] else { return usageError("import members needs --data DIR") }
        var configuration = SwitchConfiguration()
        if let path = options.values["config"] {
            do {
                configuration = try SwitchConfiguration.load(path: path)
            } catch {
                return usageError(error.description)
            }
        }
        configuration.dataDirectory = data
        let interactive = isatty(2) != 0
        do {
            let outcome = try OfflineMemberImport.run(
                configuration: configuration, file: options.positionals[0], log: LogSink()
            ) { line in
                // One line rewritten in place on a terminal; one line per batch otherwise (a log keeps them all).
                if interactive { printErrorInPlace(line) } else { printError(line) }
            }
            if interactive { printError("") }
            print(outcome.line)
            return outcome.isDone ? 0 : 1
        } catch {
            printError("import members: \(error)")
            return 1
        }
    }

    static func printErrorInPlace(_ text: String) {
        let line = "\r" + text + "\u{1B}[K"
        line.utf8CString.withUnsafeBufferPointer { bytes in _ = write(2, bytes.baseAddress, bytes.count - 1) }
    }

    static func usageError(_ message: String) -> Int32 {
        printError("error: \(message)\n\(usage)")
        return 2
    }
}

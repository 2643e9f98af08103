import AdminAccess
import Foundation
import Glibc
import HTTP
import Synchronization

/// `loyalty-switch admin init`: the first admin user of a data directory, made without a running switch.
enum AdminCommand {
    static let usage = """
        usage: loyalty-switch admin init --data DIR --name NAME

        Creates the first user (role admin) in DIR, which has none, and prints its token once on standard
        output, on a line of its own: `token: TOKEN`. Keep it: only its hash is stored. Refused (exit 1) when
        DIR already has users (create more with POST /v1/users) or while a switch serves DIR (stop it first).
        The creation is the audit trail's `users.create` entry by actor `cli`. Exit 2 on a usage error.
        """

    static func run(_ arguments: [String]) -> Int32 {
        let options: CommandLineOptions
        switch SubcommandOptions.parse(
            arguments, command: "admin", subcommand: "init", valued: ["data", "name"], usage: usage)
        {
        case .options(let parsed): options = parsed
        case .exit(let status): return status
        }
        guard let directory = options.values["data"] else { return usageError("admin init needs --data DIR") }
        guard let name = options.values["name"] else { return usageError("admin init needs --name NAME") }
        guard !name.isEmpty, name.count <= AdminUser.nameLengthMax,
            name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else { return usageError("--name must be 1...\(AdminUser.nameLengthMax) printable characters") }
        return initialize(directory: directory, name: name)
    }

    static func initialize(directory: String, name: String) -> Int32 {
        let access: AccessControl
        do {
            access = try AccessControl.open(dataDirectory: directory).0
        } catch {
            printError("admin init: \(error)")
            return 1
        }
        defer { access.close() }
        let existing = access.userCount
        guard existing == 0 else {
            printError(
                "admin init: \(directory) already has \(existing) user\(existing == 1 ? "" : "s"); admin init "
                    + "creates only the first one (an admin creates more with POST /v1/users)")
            return 1
        }
        let new = access.prepareUser(name: name, role: .admin, merchants: [])
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<AccessError?>(nil)
        let answer = RememberedAnswer(status: 201, contentType: "text/plain", body: [])
        do throws(HTTPProblem) {
            try access.createUser(new, actor: .commandLine, answer: answer, claim: nil) { failure in
                outcome.withLock { $0 = failure }
                done.signal()
            }
        } catch {
            printError("admin init: \(error.detail)")
            return 1
        }
        done.wait()
        if let failure = outcome.withLock({ $0 }) {
            printError("admin init: \(failure)")
            return 1
        }
        printError("admin init: created user \(new.user.id) (\(name), role admin) in \(directory)/audit")
        print("token: \(new.token)")
        return 0
    }

    static func usageError(_ message: String) -> Int32 {
        printError("error: \(message)\n\(usage)")
        return 2
    }
}

/// `loyalty-switch audit verify`: the audit trail's chain, checked without changing anything.
enum AuditCommand {
    static let usage = """
        usage: loyalty-switch audit verify --data DIR

        Reads DIR/audit/journal.jsonl and recomputes the hash chain: every line a well-formed entry, seq counting
        up from 1, previousHash the hash before it, hash recomputed from the entry. Changes nothing, also while
        the switch serves DIR. A last line without its newline (a write in progress, or one a crash cut short,
        never acknowledged) is reported and not counted. Exit 0 when the chain is intact, 1 naming the first
        broken entry (file, seq, byte offset) and why, 2 on a usage error.
        """

    static func run(_ arguments: [String]) -> Int32 {
        let options: CommandLineOptions
        switch SubcommandOptions.parse(
            arguments, command: "audit", subcommand: "verify", valued: ["data"], usage: usage)
        {
        case .options(let parsed): options = parsed
        case .exit(let status): return status
        }
        guard let directory = options.values["data"] else { return usageError("audit verify needs --data DIR") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            printError("audit verify: \(directory) is not a directory")
            return 1
        }
        let state: AuditJournalState
        do {
            state = try AuditJournalFile.verify(dataDirectory: directory)
        } catch {
            printError("audit verify: \(error)")
            return 1
        }
        let path = AuditJournalFile.directory(dataDirectory: directory) + "/" + AuditJournalFile.journalName
        if let damage = state.damage {
            print("\(path): chain broken after \(state.entryCount) good entries")
            printError("audit verify: \(damage)")
            return 1
        }
        var report = "\(path): \(state.entryCount) entries, chain intact, last hash \(state.lastHash)"
        if state.tornTailBytes > 0 {
            report += "; a torn last line of \(state.tornTailBytes) bytes (unacknowledged) is not part of the trail"
        }
        print(report)
        return 0
    }

    static func usageError(_ message: String) -> Int32 {
        printError("error: \(message)\n\(usage)")
        return 2
    }
}

/// `COMMAND SUBCOMMAND --option value…` with one subcommand: help, an unknown subcommand and bad options are
/// answered here (usage on standard error, exit 2), so each command reads only its own values.
enum SubcommandOptions {
    enum Outcome {
        case options(CommandLineOptions)
        case exit(Int32)
    }

    static func parse(
        _ arguments: [String], command: String, subcommand: String, valued: Set<String>, usage: String
    ) -> Outcome {
        if arguments.isEmpty || arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return .exit(arguments.isEmpty ? 2 : 0)
        }
        func usageError(_ message: String) -> Outcome {
            printError("error: \(message)\n\(usage)")
            return .exit(2)
        }
        guard arguments[0] == subcommand else { return usageError("unknown \(command) command '\(arguments[0])'") }
        do {
            let options = try CommandLineOptions(Array(arguments.dropFirst()), valued: valued, flags: [])
            guard options.positionals.isEmpty else {
                return usageError("unexpected argument \(options.positionals[0])")
            }
            return .options(options)
        } catch {
            return usageError(error.message)
        }
    }
}

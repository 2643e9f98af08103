/// A command-line mistake: the message is printed with the command's usage, exit status 2.
struct UsageError: Error {
    let message: String
}

/// Options parsed from a command line: `--name value`, `--name=value`, `--flag`, and positional arguments.
/// Hand-written because the project takes no package dependencies; small on purpose.
struct CommandLineOptions {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []

    /// Parses `arguments`; `valued` and `flags` list the allowed option names without the leading dashes.
    init(_ arguments: [String], valued: Set<String>, flags allowedFlags: Set<String>) throws(UsageError) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                positionals.append(argument)
                continue
            }
            let body = String(argument.dropFirst(2))
            let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            if allowedFlags.contains(name) && parts.count == 1 {
                flags.insert(name)
            } else if valued.contains(name) {
                if parts.count == 2 {
                    values[name] = String(parts[1])
                } else if index < arguments.count {
                    values[name] = arguments[index]
                    index += 1
                } else {
                    throw UsageError(message: "--\(name) needs a value")
                }
            } else {
                throw UsageError(message: "unknown option --\(name)")
            }
        }
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }
}

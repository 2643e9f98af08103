import Foundation
import TestSupport

/// Runs the built `loyalty-switch` binary, found next to the test bundle in the build directory.
struct CommandRunner {
    struct Outcome {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    static var executable: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("loyalty-switch")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        let fromSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/loyalty-switch")
        return fromSource
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Runs with `arguments`, feeding `input` on standard input; bounded by a 30 s timeout.
    static func run(_ arguments: [String], input: String? = nil) throws -> Outcome {
        let outcome = try ChildProcess.capture(
            executable.path, arguments, input: Data((input ?? "").utf8), timeout: 30)
        return Outcome(status: outcome.status, standardOutput: outcome.output, standardError: outcome.errors)
    }
}

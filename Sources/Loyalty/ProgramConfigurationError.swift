/// A program configuration that cannot be used: names where the problem is as a JSON key path
/// (`earning.byMerchant.M001.points`, `merchants[3].groups[0]`) and what is wrong there.
///
/// Key paths are used for configurations built in code too, so an operator's file and a test see the same words.
public struct ProgramConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted keys with `[index]` for array elements; empty for the top level.
    public let keyPath: String
    public let problem: String

    public init(keyPath: String, problem: String) {
        self.keyPath = keyPath
        self.problem = problem
    }

    public var description: String {
        keyPath.isEmpty ? problem : "\(keyPath): \(problem)"
    }
}

/// Joins key paths the way errors print them, so every producer of an error spells paths alike.
enum KeyPath {
    static func join(_ parent: String, _ key: String) -> String {
        parent.isEmpty ? key : "\(parent).\(key)"
    }

    static func join(_ parent: String, index: Int) -> String {
        "\(parent)[\(index)]"
    }
}

/// The dialects that ship inside the binary (the spec files of specs/, embedded by specs/embed.sh).
public enum BuiltinDialects {
    /// The default dialect of wire contract v1.
    public static let defaultName = "iso87ascii"

    /// Names of the embedded dialects.
    public static var names: [String] { embeddedJSON.map(\.name) }

    /// The embedded JSON text of a dialect, as in specs/NAME.json.
    public static func json(named name: String) -> String? {
        embeddedJSON.first { $0.name == name }?.json
    }

    /// Loads an embedded dialect by name; nil when there is none of that name.
    public static func dialect(named name: String) -> Dialect? {
        guard let text = json(named: name) else { return nil }
        do {
            return try Dialect.fromJSON(Array(text.utf8), source: "specs/\(name).json")
        } catch {
            preconditionFailure("embedded dialect \(name) is invalid: \(error)")
        }
    }
}

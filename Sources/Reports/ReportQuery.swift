/// What a report is asked for: its name and filters, checked before any byte is written.
public struct ReportQuery: Sendable, Equatable {
    public var name: ReportName
    /// Merchant tags whose rows are wanted (nil: every merchant). A merchant user's query always has its own.
    public var merchantTags: Set<UInt32>?

    public init(name: ReportName, merchantTags: Set<UInt32>? = nil) {
        self.name = name
        self.merchantTags = merchantTags
    }

    /// Reads the query parameters (`from`, `to`, `merchant`, each at most once). The reports built now describe
    /// the books at one moment, so a time range is refused rather than ignored; `merchant` applies to reports with
    /// merchants only. `tag` turns a merchant id into its tag (nil: unknown merchant).
    public static func parse(
        name: String, parameters: [(String, String)], tag: (String) -> UInt32?
    ) throws(ReportError) -> ReportQuery {
        guard let report = ReportName(rawValue: name) else {
            if ReportName.notBuilt.contains(name) {
                throw .badParameter(name: "name", reason: "the \(name) report is not built yet")
            }
            throw .badParameter(
                name: "name", reason: "no report \(name); reports: "
                    + ReportName.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var query = ReportQuery(name: report)
        var seen: Set<String> = []
        for (key, value) in parameters {
            guard seen.insert(key).inserted else { throw .badParameter(name: key, reason: "given more than once") }
            switch key {
            case "from", "to":
                throw .badParameter(
                    name: key, reason: "the \(name) report shows the books at one moment (no time range)")
            case "merchant":
                guard report.hasMerchants else {
                    throw .badParameter(name: key, reason: "the \(name) report has no merchants")
                }
                guard let merchantTag = tag(value) else {
                    throw .badParameter(name: key, reason: "no merchant \(value) in the rules in force")
                }
                query.merchantTags = [merchantTag]
            default:
                throw .badParameter(name: key, reason: "unknown parameter (known: from, to, merchant)")
            }
        }
        return query
    }
}

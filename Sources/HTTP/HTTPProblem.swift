/// An RFC 9457 problem document (`application/problem+json`): what went wrong, for people and programs.
///
/// `type` is a URI reference naming the kind of problem (`about:blank` when the status says it all); `title`
/// is the same for every occurrence of a type; `detail` explains this occurrence and, for a bad field, starts
/// with the field's JSON path (`$.amount: must be 1...10000`). It is an `Error`, so request handlers and the
/// JSON field reader can throw it and answer it in one place.
public struct HTTPProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public static let contentType = "application/problem+json"

    public var status: HTTPStatus
    public var type: String
    public var title: String
    public var detail: String

    public init(_ status: HTTPStatus, detail: String, type: String = "about:blank", title: String? = nil) {
        self.status = status
        self.type = type
        self.title = title ?? status.reason
        self.detail = detail
    }

    public var description: String { "\(status.code) \(title): \(detail)" }

    /// `{"type", "title", "status", "detail"}`, in that order.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("type", type)
        writer.member("title", title)
        writer.member("status", Int64(status.code))
        writer.member("detail", detail)
        writer.endObject()
    }
}

import AdminAccess
import Foundation
import HTTP

/// The operator's dashboard (web/dashboard.html, embedded by specs/embed.sh): one page with its style and script
/// inline and nothing loaded from elsewhere, so it works on a switch with no internet access and a browser can be
/// told to run nothing else. Its data comes from `/metrics` and `/v1/audit`, called with the token the operator
/// typed in (docs/dashboard.md).
enum DashboardPage {
    /// The page as served.
    static let bytes: [UInt8] = Array(embeddedHTML.utf8)

    /// Scripts and styles only by the hashes of the page's own inline ones, data calls only to this listener, no
    /// framing (clickjacking), no plugins, no forms posting elsewhere, no base rewriting.
    static let contentSecurityPolicy: String =
        "default-src 'none'; script-src '\(hash(between: "<script>", and: "</script>"))'; "
        + "style-src '\(hash(between: "<style>", and: "</style>"))'; connect-src 'self'; img-src data:; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The headers of every answer of `GET /`.
    static let headers: [(String, String)] = [
        ("Content-Security-Policy", contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-store"),
    ]

    /// The CSP source `sha256-…` of the text between the page's first `open` and the `close` after it: what a
    /// browser hashes to decide whether an inline script or style may run.
    static func hash(between open: String, and close: String) -> String {
        guard let start = embeddedHTML.range(of: open),
            let end = embeddedHTML.range(of: close, range: start.upperBound..<embeddedHTML.endIndex)
        else { preconditionFailure("web/dashboard.html has one \(open)…\(close)") }
        let digest = AccessCrypto.sha256(Array(embeddedHTML[start.upperBound..<end.lowerBound].utf8))
        precondition(digest.count == 32, "a SHA-256 digest is 32 bytes")
        return "sha256-" + Data(digest).base64EncodedString()
    }
}

/// `GET /`: the dashboard page. No token: the page holds no data, and asks for a token before it fetches any.
final class DashboardHandler: HTTPHandler {
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        precondition(!DashboardPage.bytes.isEmpty && DashboardPage.headers.count == 4, "the page and its four headers")
        responder.respond(
            .ok, contentType: "text/html; charset=utf-8", body: DashboardPage.bytes, headers: DashboardPage.headers)
    }
}

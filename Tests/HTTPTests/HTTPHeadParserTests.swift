import HTTP
import Testing

/// The request head parser on its own and through a connection: every malformed class gets its status and a
/// close; well-formed heads give exactly the offsets and meanings expected.
@Suite("HTTP request head parsing")
struct HTTPHeadParserTests {
    static func parse(_ text: String, limits: HTTPLimits = HTTPLimits()) throws(HTTPRequestError) -> HTTPRequestHead {
        var fields: [HTTPHeaderField] = []
        let bytes = Array(text.utf8)
        var scanner = HTTPHeadScanner(headerBytesMax: limits.headerBytesMax)
        let outcome = bytes.withUnsafeBytes { scanner.scan($0) }
        switch outcome {
        case .failed(let error): throw error
        case .incomplete: throw HTTPRequestError(.badRequest, "incomplete in test")
        case .complete(let start, let end):
            let result: Result<HTTPRequestHead, HTTPRequestError> = bytes.withUnsafeBytes { raw in
                do throws(HTTPRequestError) {
                    let head = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                    return .success(try HTTPHeadParser.parse(head, limits: limits, fields: &fields))
                } catch {
                    return .failure(error)
                }
            }
            return try result.get()
        }
    }

    /// Each malformed class and the status RFC 9110/9112 give it.
    static let malformed: [(name: String, head: String, status: Int)] = [
        ("bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", 400),
        ("CR without LF", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
        ("no method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("method not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("unknown method", "FETCH / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
        ("methods are case-sensitive", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
        ("empty target", "GET  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("no version", "GET /\r\nHost: a\r\n\r\n", 400),
        ("malformed version", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400),
        ("version without dot", "GET / HTTP/11\r\nHost: a\r\n\r\n", 400),
        ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
        ("two spaces after the target", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("a tab in the target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("a byte above ASCII in the target", "GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("a fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("a target that is no path", "GET health HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("* with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("an absolute URL without a path", "GET http://a HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("obsolete line folding", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  c\r\n\r\n", 400),
        ("a header line without colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A b\r\n\r\n", 400),
        ("space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        ("an empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400),
        ("NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{0}c\r\n\r\n", 400),
        ("a control byte in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{1}c\r\n\r\n", 400),
        ("DEL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{7f}c\r\n\r\n", 400),
        ("HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
        ("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("Content-Length not a number", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12a\r\n\r\n", 400),
        ("Content-Length negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        ("Content-Length with a sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400),
        ("Content-Length empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400),
        ("Content-Length as a list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", 400),
        (
            "two Content-Lengths that disagree",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400
        ),
        (
            "a Content-Length of 19 digits",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000\r\n\r\n", 413
        ),
        (
            "Transfer-Encoding with Content-Length",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400
        ),
        ("a chunked request body", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
        ("another transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("an expectation other than 100-continue", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417),
        ("five empty lines before the request", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ]

    @Test(
        "every malformed class: its status, a problem document, Connection: close, and the connection closed",
        arguments: malformed.indices)
    func malformedHead(_ index: Int) {
        let (name, head, status) = Self.malformed[index]
        let harness = HTTPHarness()
        harness.send(head)
        let responses = harness.responses
        #expect(responses.count == 1, "\(name)")
        #expect(responses.first?.status == status, "\(name): \(harness.outputText)")
        #expect(responses.first?.header("content-type") == "application/problem+json", "\(name)")
        #expect(responses.first?.header("connection") == "close", "\(name)")
        #expect(responses.first?.bodyText.contains("\"status\":\(status)") == true, "\(name)")
        #expect(harness.transport.isClosed, "\(name)")
    }

    @Test("a well-formed head: method, version, path, query, header fields, body length and keep-alive")
    func wellFormed() throws {
        let text = "POST /v1/members?after=5&limit=2 HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\nX-Empty:\r\n\r\n"
        let head = try Self.parse(text)
        let bytes = Array(text.utf8)
        #expect(head.method == .post && head.version == .http11)
        #expect(String(decoding: bytes[head.path], as: UTF8.self) == "/v1/members")
        #expect(head.query.map { String(decoding: bytes[$0], as: UTF8.self) } == "after=5&limit=2")
        #expect(head.contentLength == 17 && head.keepAlive && !head.expectsContinue)
        #expect(head.headerCount == 3 && head.length == bytes.count)
    }

    @Test("field values lose surrounding whitespace; names compare without case; agreeing Content-Lengths are one")
    func fieldDetails() throws {
        let head = try Self.parse(
            "GET /a HTTP/1.1\r\nhOsT: \t a \t\r\nCONTENT-LENGTH: 3\r\ncontent-length: 3\r\nConnection: Keep-Alive, Close\r\n\r\n"
        )
        #expect(head.contentLength == 3)
        #expect(!head.keepAlive, "close among the options wins")
    }

    @Test("absolute-form targets are served by their path; * is for OPTIONS; up to four empty lines lead")
    func targetForms() throws {
        let absolute = "GET HTTP://example.com:8580/v1/health?x HTTP/1.1\r\nHost: example.com\r\n\r\n"
        let head = try Self.parse(absolute)
        #expect(String(decoding: Array(absolute.utf8)[head.path], as: UTF8.self) == "/v1/health")
        #expect(try Self.parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").method == .options)
        #expect(try Self.parse("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").method == .get)
    }

    @Test("HTTP/1.0 closes unless it asks for keep-alive, and needs no Host; HTTP/1.1 keeps alive unless told")
    func keepAliveDefaults() throws {
        #expect(try !Self.parse("GET / HTTP/1.0\r\n\r\n").keepAlive)
        #expect(try Self.parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keepAlive)
        #expect(try Self.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n").keepAlive)
        #expect(try !Self.parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keepAlive)
        #expect(try Self.parse("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n").expectsContinue)
    }

    @Test("the scanner finds the end of a head given byte by byte exactly as given whole")
    func scannerPieces() {
        let bytes = Array("\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\nrest".utf8)
        var whole = HTTPHeadScanner(headerBytesMax: 1024)
        let expected = bytes.withUnsafeBytes { whole.scan($0) }
        #expect(expected == .complete(start: 2, end: bytes.count - 4))
        var piecewise = HTTPHeadScanner(headerBytesMax: 1024)
        var outcome = HTTPHeadScanner.Outcome.incomplete
        for end in 1...bytes.count where outcome == .incomplete {
            outcome = bytes.withUnsafeBytes { piecewise.scan(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
        }
        #expect(outcome == expected)
    }
}

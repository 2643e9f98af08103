import Foundation
import Glibc
import Testing

/// The admin API of the real `loyalty-switch serve`, driven by real HTTP clients (curl, Python's http.client
/// and urllib, a raw socket): health, keep-alive, pipelining, the refusals at the limits, metrics that follow
/// ISO 8583 traffic and pass promtool, and the OpenAPI document.
@Suite struct AdminAPITests {
    @Test("GET /v1/health is 200 {\"status\":\"ok\"} to curl and to Python's urllib")
    func healthOK() throws {
        try withSwitch { server in
            let port = try #require(server.adminPort)
            let (code, body) = try AdminClient.curlStatus(["http://127.0.0.1:\(port)/v1/health"])
            #expect(code == 200 && body == #"{"status":"ok"}"#)
            let python = try AdminClient.python(["urllib", "http://127.0.0.1:\(port)/v1/health"])
            #expect(python["status"] as? Int == 200 && python["contentType"] as? String == "application/json")
            #expect(python["body"] as? String == #"{"status":"ok"}"#)
        }
    }

    @Test("keep-alive: Python's http.client sends five requests on one connection and gets five answers")
    func keepAlive() throws {
        try withSwitch { server in
            let port = try #require(server.adminPort)
            let result = try AdminClient.python(["keepalive", String(port), "/v1/health", "5"])
            #expect(result["statuses"] as? [Int] == [200, 200, 200, 200, 200])
            #expect(result["sameConnection"] as? Bool == true)
            let curl = try AdminClient.curl([
                "-v", "http://127.0.0.1:\(port)/v1/health", "http://127.0.0.1:\(port)/v1/health",
            ])
            #expect(curl.output.contains("Re-using existing connection"), "\(curl.output)")
        }
    }

    @Test("pipelining: three requests in one write come back in order on one connection; Connection: close ends it")
    func pipelining() throws {
        try withSwitch { server in
            let port = try #require(server.adminPort)
            let client = try RawHTTPClient(port: port)
            client.write(
                "GET /v1/health HTTP/1.1\r\nHost: a\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /v1/openapi.json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            let output = client.readUntilClosed()
            // A body is followed at once by the next status line, without a line end between them.
            var statuses: [String] = []
            for piece in output.components(separatedBy: "HTTP/1.1 ").dropFirst() {
                let code = piece.prefix(4)
                if code.count == 4 && code.last == " " && code.dropLast().allSatisfy(\.isNumber) {
                    statuses.append(String(code.dropLast()))
                }
            }
            #expect(statuses == ["200", "404", "200"], "\(output)")
            #expect(output.contains("\"openapi\": \"3.1.0\""), "the last answer is the document, whole")
        }
    }

    @Test("404 and 405 are problem documents; 405 says Allow: GET, HEAD; the connection stays usable")
    func notFoundAndMethodNotAllowed() throws {
        try withSwitch { server in
            let port = try #require(server.adminPort)
            let (notFound, problem) = try AdminClient.curlStatus(["http://127.0.0.1:\(port)/v1/nothing"])
            #expect(notFound == 404)
            #expect(
                problem
                    == #"{"type":"about:blank","title":"Not Found","status":404,"detail":"no resource at this path"}"#)
            let head = try AdminClient.curl(["-i", "-X", "DELETE", "http://127.0.0.1:\(port)/v1/health"])
            #expect(
                head.output.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n")
                    && head.output.contains("Allow: GET, HEAD\r\n"))
            #expect(head.output.contains("Content-Type: application/problem+json\r\n"))
        }
    }

    @Test(
        "413: a 2 MiB body is refused before it is read (the default bodyBytesMax is 1 MiB), and the connection closes")
    func contentTooLarge() throws {
        try withSwitch { server in
            let port = try #require(server.adminPort)
            let bodyPath = server.directory.path + "/body.bin"
            try Data(count: 2 << 20).write(to: URL(fileURLWithPath: bodyPath))
            let result = try AdminClient.curl([
                "-i", "-H", "Content-Type: application/json", "--data-binary", "@" + bodyPath,
                "http://127.0.0.1:\(port)/v1/health",
            ])
            #expect(result.output.contains("HTTP/1.1 413 Content Too Large\r\n"), "\(result.output.prefix(400))")
            #expect(result.output.contains("bodyBytesMax") && result.output.contains("Connection: close\r\n"))
        }
    }

    @Test("431: a 20 KiB header field is over headerBytesMax (16 KiB); Python's client is told to close")
    func headerFieldsTooLarge() throws {
        try withSwitch { server in
            let port = try #require(server.adminPort)
            let result = try AdminClient.python(["bigheader", String(port), String(20 << 10)])
            #expect(result["status"] as? Int == 431 && result["closed"] as? Bool == true)
        }
    }

    @Test("408: a request head that stops coming is answered 408 after headerReadTimeoutMs and closed (slowloris)")
    func requestTimeout() throws {
        var settings = SwitchSettings()
        settings.admin = ["listen": "127.0.0.1:0", "headerReadTimeoutMs": 300]
        try withSwitch(settings) { server in
            let client = try RawHTTPClient(port: try #require(server.adminPort))
            client.write("GET /v1/health HTTP/1.1\r\nHost: a\r\nX-Slow: ")
            let output = client.readUntilClosed()
            #expect(output.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(output)")
            #expect(output.contains("headerReadTimeoutMs") && output.contains("Connection: close\r\n"))
        }
    }

    @Test("a chunked request body is 411 with the reason; the connection closes")
    func chunkedRequestBody() throws {
        try withSwitch { server in
            let result = try AdminClient.curl([
                "-i", "-H", "Transfer-Encoding: chunked", "--data-binary", "{}",
                "http://127.0.0.1:\(try #require(server.adminPort))/v1/health",
            ])
            #expect(result.output.hasPrefix("HTTP/1.1 411 Length Required\r\n"), "\(result.output)")
            #expect(result.output.contains("Content-Length"))
        }
    }
}

import HTTP
import Testing

/// Routing by method and path pattern, on bytes.
@Suite("HTTP router")
struct HTTPRouterTests {
    static func match(_ router: HTTPRouter, _ method: HTTPMethod, _ path: String) -> (HTTPRouter.Match, [String]) {
        var parameters: [Range<Int>] = []
        let bytes = Array(path.utf8)
        let match = bytes.withUnsafeBytes { router.match(method, path: $0, parameters: &parameters) }
        return (match, parameters.map { String(decoding: bytes[$0], as: UTF8.self) })
    }

    static let router: HTTPRouter = {
        let router = HTTPRouter()
        router.add(.get, "/", EchoHandler())
        router.add(.get, "/v1/health", EchoHandler())
        router.add(.get, "/v1/members/{id}", EchoHandler())
        router.add(.post, "/v1/members/{id}/adjustments", EchoHandler())
        router.add(.delete, "/v1/users/{id}", EchoHandler())
        router.add(.get, "/v1/lotteries/{id}/entries/{entry}", EchoHandler())
        return router
    }()

    @Test("literal and parameter segments match whole segments only; parameters come back in order")
    func matching() {
        #expect(Self.match(Self.router, .get, "/").0 == .found(route: 0))
        #expect(Self.match(Self.router, .get, "/v1/health").0 == .found(route: 1))
        #expect(Self.match(Self.router, .get, "/v1/members/m-17") == (.found(route: 2), ["m-17"]))
        #expect(Self.match(Self.router, .post, "/v1/members/7/adjustments") == (.found(route: 3), ["7"]))
        #expect(Self.match(Self.router, .get, "/v1/lotteries/L1/entries/E2") == (.found(route: 5), ["L1", "E2"]))
        for path in ["/v1/health/", "/v1/healthz", "/v1", "/v1/members/", "/v1/members//adjustments", "//", "", "x"] {
            #expect(Self.match(Self.router, .get, path).0 == .notFound, "\(path)")
        }
    }

    @Test("a known path with another method is 405 with the methods it has; HEAD rides on GET")
    func methods() {
        #expect(Self.match(Self.router, .post, "/v1/health").0 == .methodNotAllowed(allowed: [.get, .head]))
        #expect(Self.match(Self.router, .head, "/v1/members/1").0 == .found(route: 2))
        #expect(Self.match(Self.router, .get, "/v1/users/1").0 == .methodNotAllowed(allowed: [.delete]))
        #expect(Self.match(Self.router, .query, "/v1/health").0 == .methodNotAllowed(allowed: [.get, .head]))
    }

    @Test("QUERY is a method the server knows (405 where no route takes it, never 501); FETCH is not")
    func queryIsKnown() throws {
        let head = try HTTPHeadParserTests.parse("QUERY /v1/health HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n")
        #expect(head.method == .query && head.contentLength == 2)
        #expect(throws: HTTPRequestError.self) { try HTTPHeadParserTests.parse("FETCH / HTTP/1.1\r\nHost: a\r\n\r\n") }
    }

    @Test("a route's name is its method and pattern, as metrics label it")
    func names() {
        #expect(Self.router.routes.map(\.name)[2] == "GET /v1/members/{id}")
    }
}

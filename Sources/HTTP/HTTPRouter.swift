/// What answers the requests of one route. Called on the connection's loop thread, for requests of any loop at
/// once, so a handler keeps no unsynchronised state of its own. It answers through `responder`: at once, or
/// later on the same loop (a request that waits for the ledger); the connection keeps answers in request order.
public protocol HTTPHandler: AnyObject, Sendable {
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder)
}

/// Method and path patterns (`/v1/members/{id}`) to handlers. Built before the server starts, read-only after.
/// Matching walks the path's bytes segment by segment: no string is built, a `{name}` segment matches any
/// non-empty segment and is handed to the handler as a parameter, and the query never takes part.
public final class HTTPRouter: @unchecked Sendable {
    /// Bounds on the table and on patterns; a router is code, so going over them is a programmer error.
    public static let routesMax = 64
    public static let segmentsMax = 16
    public static let parametersMax = 4

    public struct Route: Sendable {
        public let method: HTTPMethod
        /// The pattern as written, which is also the route's name in metrics (`GET /v1/members/{id}`).
        public let pattern: String
        let segments: [Segment]
        let handling: Handling

        public var name: String { "\(method) \(pattern)" }
    }

    /// How a route takes its body: whole, within `HTTPLimits.bodyBytesMax`, or as it arrives (HTTPBodySink.swift).
    enum Handling: Sendable {
        case whole(any HTTPHandler)
        case streamed(any HTTPStreamingHandler)
    }

    enum Segment: Sendable, Equatable {
        case literal([UInt8])
        case parameter
    }

    public enum Match: Equatable {
        case found(route: Int)
        /// The path exists with other methods (HEAD is allowed wherever GET is).
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    public private(set) var routes: [Route] = []
    /// Some route streams its body: the connection then routes each request as soon as its head is parsed.
    public private(set) var hasStreamedRoutes = false

    public init() {}

    /// Adds a route; patterns are `/`-separated literal segments and `{name}` parameters.
    public func add(_ method: HTTPMethod, _ pattern: String, _ handler: any HTTPHandler) {
        add(method, pattern, .whole(handler))
    }

    /// Adds a route whose body goes to a sink as it arrives (an upload bigger than memory should hold).
    public func add(_ method: HTTPMethod, _ pattern: String, streaming handler: any HTTPStreamingHandler) {
        precondition(method == .post || method == .put, "only POST and PUT stream a body")
        add(method, pattern, .streamed(handler))
        hasStreamedRoutes = true
    }

    func add(_ method: HTTPMethod, _ pattern: String, _ handling: Handling) {
        precondition(routes.count < HTTPRouter.routesMax, "more than \(HTTPRouter.routesMax) routes")
        precondition(method != .head, "HEAD is served by the GET route")
        let segments = Self.segments(of: pattern)
        precondition(
            !routes.contains { $0.method == method && $0.segments == segments }, "route \(method) \(pattern) twice")
        routes.append(Route(method: method, pattern: pattern, segments: segments, handling: handling))
    }

    static func segments(of pattern: String) -> [Segment] {
        precondition(pattern.hasPrefix("/"), "a route pattern starts with /")
        let parts = pattern.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        precondition(parts.count <= segmentsMax, "a route pattern has at most \(segmentsMax) segments")
        let segments = parts.map { part -> Segment in
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 { return .parameter }
            precondition(!part.contains("{") && !part.contains("}"), "a parameter is a whole segment: \(pattern)")
            return .literal(Array(part.utf8))
        }
        precondition(segments.filter { $0 == .parameter }.count <= parametersMax, "too many parameters: \(pattern)")
        return segments
    }

    /// The route for `method` and `path` (bytes starting with `/`); parameter ranges (offsets into `path`) go
    /// into `parameters`, which is cleared first.
    public func match(
        _ method: HTTPMethod, path: UnsafeRawBufferPointer, parameters: inout [Range<Int>]
    ) -> Match {
        var allowed: [HTTPMethod] = []
        let wanted = method == .head ? HTTPMethod.get : method
        for (index, route) in routes.enumerated() {
            parameters.removeAll(keepingCapacity: true)
            guard Self.matches(route.segments, path, &parameters) else { continue }
            if route.method == wanted { return .found(route: index) }
            allowed.append(route.method)
        }
        parameters.removeAll(keepingCapacity: true)
        guard !allowed.isEmpty else { return .notFound }
        if allowed.contains(.get) { allowed.append(.head) }
        return .methodNotAllowed(allowed: allowed)
    }

    /// Segment by segment; stops at the first difference. Bounded by the path's length and `segmentsMax`.
    static func matches(_ segments: [Segment], _ path: UnsafeRawBufferPointer, _ parameters: inout [Range<Int>]) -> Bool
    {
        guard path.first == UInt8(ascii: "/") else { return false }
        var start = 1
        for (position, segment) in segments.enumerated() {
            guard start <= path.count else { return false }
            let end = HTTPBytes.firstIndex(of: UInt8(ascii: "/"), in: path, from: start, to: path.count) ?? path.count
            let isLast = position == segments.count - 1
            guard isLast == (end == path.count) else { return false }
            switch segment {
            case .literal(let bytes):
                guard UnsafeRawBufferPointer(rebasing: path[start..<end]).elementsEqual(bytes) else { return false }
            case .parameter:
                guard end > start else { return false }
                parameters.append(start..<end)
            }
            start = end + 1
        }
        return true
    }
}

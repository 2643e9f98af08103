/// Every limit of the HTTP server, named and set at start-up. Each has a test at and over it
/// (Tests/HTTPTests/HTTPLimitTests.swift); what a client gets over it is in specs/admin-api.md.
public struct HTTPLimits: Sendable, Equatable {
    /// Open connections on an HTTP listener, counted apart from the ISO 8583 listeners' `connectionsMax`: one
    /// more is accepted and closed at once. Operators can reach the API while terminals fill their limit, and a
    /// flood of admin clients takes no terminal's slot.
    public var connectionsMax = 64
    /// Bytes of a request's head (request line and header fields, with their line ends); over it: 431 and close.
    public var headerBytesMax = 16 << 10
    /// Header fields in one request; over it: 431 and close.
    public var headerCountMax = 64
    /// Bytes of the request target (path and query); over it: 414 and close.
    public var targetBytesMax = 8 << 10
    /// Bytes of a request body (`Content-Length`); over it: 413 and close, before the body is read.
    public var bodyBytesMax = 1 << 20
    /// From a request's first byte until its head is complete; over it: 408 and close (slowloris).
    public var headerReadTimeoutMs = 10_000
    /// From the end of a request's head until its body is complete; over it: 408 and close.
    public var bodyReadTimeoutMs = 30_000
    /// A connection with no request in progress and none in flight for this long is closed without an answer.
    public var idleTimeoutMs = 60_000
    /// Requests read (pipelined) and not yet answered on one connection; reading pauses at the limit and
    /// resumes as answers go out, so a pipelining client cannot queue unbounded work.
    public var requestsInFlightPerConnectionMax = 16

    public init() {}

    /// Ranges that keep the server sane; a configuration outside them is a programmer or operator error caught
    /// by the configuration reader first.
    public func validate() {
        precondition(connectionsMax >= 1 && connectionsMax <= 1_000_000, "connectionsMax out of range")
        precondition(headerBytesMax >= 256 && headerBytesMax <= 1 << 20, "headerBytesMax out of range")
        precondition(headerCountMax >= 1 && headerCountMax <= 1024, "headerCountMax out of range")
        precondition(targetBytesMax >= 16 && targetBytesMax <= 1 << 20, "targetBytesMax out of range")
        precondition(bodyBytesMax >= 0 && bodyBytesMax <= 1 << 30, "bodyBytesMax out of range")
        precondition(headerReadTimeoutMs >= 1 && bodyReadTimeoutMs >= 1 && idleTimeoutMs >= 1, "timeouts positive")
        precondition(
            requestsInFlightPerConnectionMax >= 1 && requestsInFlightPerConnectionMax <= 1024,
            "requestsInFlightPerConnectionMax out of range")
    }
}

/// Every limit of the network layer, named and set at start-up (see STYLE.md: put a limit on everything).
public struct NetworkLimits: Sendable {
    /// Open connections across all loops; a connection over the limit is accepted and closed at once.
    public var connectionsMax = 10_000
    /// Unsent output per connection above which the connection is not read until it drains below half.
    public var outputBytesMax = 1 << 20
    /// Bytes read from one connection per readiness event, so one busy peer cannot starve the others.
    public var readBytesPerEventMax = 256 << 10
    /// A connection with no traffic for this long is closed (0 = never).
    public var idleTimeoutMs = 300_000
    /// The kernel's queue of not-yet-accepted connections (capped by net.core.somaxconn).
    public var listenBacklog: Int32 = 4096
    /// Events taken from epoll per wait.
    public var eventsPerWaitMax = 256
    /// A TLS connection whose handshake has not finished this long after it was accepted is closed and counted
    /// (`timeout`): a client that stops mid-handshake holds a connection slot no longer than this.
    public var tlsHandshakeTimeoutMs = 10_000
    /// TLS handshake steps (each may be a key exchange and a signature, ~0.1–1 ms of CPU) one loop runs per
    /// iteration; the rest wait for the next iteration, so a flood of handshakes cannot starve established
    /// connections, whose reads and writes run in every iteration.
    public var tlsHandshakesPerIterationMax = 16
    /// After accept fails for want of a descriptor (EMFILE, ENFILE) or of kernel memory, a listener is not
    /// watched for this long: level-triggered epoll would otherwise report it again at once, forever.
    public var acceptBackoffMs = 100

    public init() {}
}

import Network

/// What an HTTP connection needs from its byte stream. `Network.Connection` is one; tests use an in-memory one,
/// so the whole request and response cycle (pipelining, limits, timeouts) runs in process without sockets.
public protocol HTTPTransport: AnyObject {
    /// Queues output bytes (written at the end of the loop iteration).
    func appendOutput(_ body: (inout [UInt8]) -> Void)
    func pauseReading()
    func resumeReading()
    /// Closes once queued output is written.
    func closeWhenFlushed()
    func close(_ reason: CloseReason)
    /// Output bytes queued and not yet written to the peer (a streamed answer's back-pressure).
    var pendingOutputByteCount: Int { get }
}

extension Connection: HTTPTransport {}

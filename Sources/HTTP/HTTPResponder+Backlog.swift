extension HTTPResponder {
    /// Bytes of this answer (and those queued ahead of it on the connection) not yet written to the client, or
    /// nil when the connection closed or the exchange is gone: a streamed answer's producer waits while this is
    /// above its window and stops on nil, so a slow or vanished reader never makes the server buffer a whole
    /// report. Loop thread only, like every use of a responder.
    public var streamBacklogBytes: Int? {
        connection.loopState.assertOwnedByCurrentThread()
        guard !connection.isClosed, let index = connection.exchanges.index(of: sequence) else { return nil }
        return connection.transport.pendingOutputByteCount + connection.exchanges[index].output.count
    }
}

extension HTTPResponder {
    /// Ends a streamed answer that cannot be completed (its producer failed midway) by closing the connection: a
    /// chunked answer without its last chunk tells the client it is cut, where a last chunk would look complete.
    public func abortStream(_ reason: String) {
        connection.loopState.assertOwnedByCurrentThread()
        guard !connection.isClosed else { return }
        connection.transport.close(.protocolError(reason))
    }
}

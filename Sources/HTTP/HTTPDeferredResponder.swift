import Network

/// A responder another thread may hold while work finishes there (a durable write on a journal thread). It is
/// `Sendable` because it never touches the connection itself: `answer` hops back to the connection's loop with
/// `EventLoop.execute` and answers there, in request order like any answer. Meanwhile the connection keeps its
/// limits: pipelined requests behind it wait (reading pauses at `requestsInFlightPerConnectionMax`) and their
/// read deadlines still run. A connection that closed meanwhile drops the late answer: the exchange is gone, so
/// `respond` finds nothing to answer.
public struct HTTPDeferredResponder: @unchecked Sendable {
    let responder: HTTPResponder
    /// The loop that owns the connection; the only thread that may use `responder`.
    public let loop: EventLoop

    /// Answers on the connection's loop thread, soon. Call from any thread, exactly once.
    public func answer(_ body: @escaping @Sendable (HTTPResponder) -> Void) {
        loop.execute { [self] in
            responder.connection.loopState.assertOwnedByCurrentThread()
            body(responder)
        }
    }
}

extension HTTPResponder {
    /// This responder for answering after the handler returns, from another thread (see `HTTPDeferredResponder`).
    /// Needs a connection accepted by a listener on an event loop.
    public func deferred() -> HTTPDeferredResponder {
        connection.loopState.assertOwnedByCurrentThread()
        guard let loop = connection.loopState.loop else {
            preconditionFailure("a deferred answer needs a connection on an event loop")
        }
        return HTTPDeferredResponder(responder: self, loop: loop)
    }
}

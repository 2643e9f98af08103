import Network

/// One keep-alive HTTP/1.1 connection to a webhook's receiver, carrying one request at a time (no pipelining, so
/// a failed try never takes other events down with it). Lives on the webhook's loop; tells its delivery how
/// each try ended. Redirects are not followed: a 3xx is a failed try like any other non-2xx answer.
final class WebhookConnection: OutboundConnectionHandler {
    unowned let delivery: WebhookDelivery
    var connection: Connection?
    var reader: HTTPResponseReader
    /// The member and payload of the request in flight; nil while idle.
    var inFlight: (member: String, payload: DeliveryPayload)?
    var isConnected = false
    /// When the connect (while connecting) or the answer (while a request is in flight) is overdue.
    var deadlineNs: UInt64 = .max
    /// Set before the delivery closes the connection, so the try fails with this reason rather than the close's.
    var failure: String?

    init(delivery: WebhookDelivery, responseBytesMax: Int) {
        self.delivery = delivery
        reader = HTTPResponseReader(bytesMax: responseBytesMax)
    }

    var isIdle: Bool { isConnected && inFlight == nil && !(connection?.isClosed ?? true) }

    /// Sends one event's request (queued until the connect finishes).
    func send(_ payload: DeliveryPayload, member: String, nowNs: UInt64) {
        precondition(inFlight == nil, "one request at a time on a webhook connection")
        guard let connection else { return }
        inFlight = (member, payload)
        reader.reset()
        if isConnected { deadlineNs = nowNs + delivery.responseTimeoutNs }
        let head =
            "POST \(delivery.webhook.address.path) HTTP/1.1\r\nHost: \(delivery.hostHeader)\r\n"
            + "User-Agent: loyalty-switch\r\nContent-Type: application/json\r\nContent-Length: \(payload.body.count)\r\n"
            + "X-Loyalty-Event-Id: \(payload.eventId)\r\nX-Loyalty-Signature: \(payload.signature)\r\n\r\n"
        connection.appendOutput { output in
            output.append(contentsOf: head.utf8)
            output.append(contentsOf: payload.body)
        }
    }

    func connected(_ connection: Connection) {
        isConnected = true
        deadlineNs = inFlight == nil ? .max : monotonicNanoseconds() + delivery.responseTimeoutNs
    }

    func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        guard inFlight != nil else {
            failure = "bytes from the receiver with no request in flight"
            connection.close(.protocolError("unasked bytes from a webhook receiver"))
            return
        }
        settle(reader.consume(bytes), on: connection)
    }

    func inputEnded(on connection: Connection) {
        guard inFlight != nil else {
            connection.close(.peerClosed)
            return
        }
        settle(reader.endOfInput(), on: connection)
        if !connection.isClosed { connection.close(.peerClosed) }
    }

    private func settle(_ outcome: HTTPResponseReader.Outcome, on connection: Connection) {
        switch outcome {
        case .needMore: return
        case .failed(let reason):
            failure = reason
            connection.close(.protocolError(reason))
        case .complete(let status, let reusable):
            guard let (member, payload) = inFlight else { return }
            // An answer after the deadline is a failed try even when the loop read it before its deadline check
            // ran (a busy or niced loop): what counts is when it came, as the receiver's log says.
            if monotonicNanoseconds() > deadlineNs {
                let reason = "no answer within \(delivery.limits.responseTimeoutMs) ms (responseTimeoutMs)"
                failure = reason
                connection.close(.overLimit(reason))
                return
            }
            inFlight = nil
            deadlineNs = .max
            if !reusable { connection.close(.byHandler) }
            let result: DeliveryResult =
                (200...299).contains(status) ? .acknowledged : .failed("answered \(status)")
            delivery.finished(member: member, payload: payload, result: result)
        }
    }

    func closed(_ connection: Connection, reason: CloseReason) {
        self.connection = nil
        isConnected = false
        deadlineNs = .max
        if let (member, payload) = inFlight {
            inFlight = nil
            delivery.finished(member: member, payload: payload, result: .failed(failure ?? "\(reason)"))
        }
        failure = nil
        delivery.connectionClosed(self)
    }
}

/// How one try of one event ended.
enum DeliveryResult: Equatable {
    case acknowledged
    case failed(String)
}

import ISO8583
import Network

/// A stand-in for the switch that answers every request at once, with no ledger: the far end for measuring the
/// load generator's own ceiling (`echo-responder`) and, with a fault, for testing that the load generator notices
/// every kind of wrong answer.
public final class TrivialResponder: ConnectionHandler {
    public enum Fault: Sendable, Equatable {
        case none
        /// Answers with STAN + 1.
        case wrongStan
        /// Answers 0200 with 0110.
        case wrongMTI
        /// Closes the connection after answering this many requests.
        case closeAfter(Int)
        /// Reads and never answers.
        case neverAnswer
        /// Leaves field 39 out.
        case missingResponseCode
        /// Answers each request this many milliseconds late (a stalled server; at most 1024 waiting answers).
        case delayMs(Int)
    }

    let dialect: Dialect
    let fault: Fault
    var decoder: FrameDecoder
    var request: ISOMessage
    var response: ISOMessage
    var answered = 0
    /// Fields copied from request to answer (wire contract v1 echoes these).
    static let echoedFields = [2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 49]

    public init(dialect: Dialect, framing: Framing, fault: Fault = .none) {
        self.dialect = dialect
        self.fault = fault
        decoder = FrameDecoder(framing: framing)
        request = ISOMessage(dialect: dialect, mti: nil)
        response = ISOMessage(dialect: dialect, mti: nil)
    }

    public func received(_ bytes: UnsafeRawBufferPointer, on connection: Connection) {
        decoder.append(bytes)
        defer {
            request.releaseStorage()
            decoder.compact()
        }
        while !connection.isClosed {
            let frame: Frame?
            do { frame = try decoder.next() } catch {
                connection.close(.protocolError("\(error)"))
                return
            }
            guard let frame else { return }
            do {
                try dialect.decode(decoder.buffer, range: frame.message, into: &request)
                try answer(frame, on: connection)
            } catch {
                connection.close(.protocolError("\(error)"))
                return
            }
        }
    }

    func answer(_ frame: Frame, on connection: Connection) throws(ISOError) {
        if fault == .neverAnswer { return }
        if case .closeAfter(let limit) = fault, answered >= limit {
            connection.close(.byHandler)
            return
        }
        let requestMTI = request.mti ?? MTI(200)!
        // A response, notification or function digit 9 (0290) has no response MTI, and answering it could set two
        // systems answering each other: the connection closes, as on a message that does not decode.
        guard let responseMTI = requestMTI.response else {
            connection.close(.protocolError("\(requestMTI) is not a request or an advice"))
            return
        }
        response.removeAll(mti: fault == .wrongMTI ? MTI(110)! : responseMTI)
        for field in TrivialResponder.echoedFields where request.has(field) { try response.copy(field, from: request) }
        if fault == .wrongStan { try response.set(11, integer: (request.integer(11) ?? 0) % 999_999 + 1) }
        if fault != .missingResponseCode { try response.set(39, "00") }
        let tpdu = frame.tpdu.map { Framing.packTPDU(decoder.buffer[$0]) }
        if case .delayMs(let delay) = fault {
            var frameBytes: [UInt8] = []
            try decoder.framing.appendFrame(encoding: response, requestTPDU: tpdu, to: &frameBytes)
            connection.loop.schedule(afterMs: delay) { [frameBytes] in connection.send(frameBytes) }
            answered += 1
            return
        }
        var failure: ISOError?
        connection.appendOutput { output in
            do throws(ISOError) {
                try decoder.framing.appendFrame(encoding: response, requestTPDU: tpdu, to: &output)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        answered += 1
    }

    public func inputEnded(on connection: Connection) { connection.closeWhenFlushed() }

    public func closed(_ connection: Connection, reason: CloseReason) {}
}

import Foundation
import ISO8583

/// Wire contract v1 from the terminal's side: the default dialect and framing, and a terminal that builds
/// requests with the fields the contract lists.
enum Wire {
    static let dialect = BuiltinDialects.dialect(named: "iso87ascii")!
    /// Fields every response echoes byte for byte (wire contract v1, "Response MTI").
    static let echoedFields = [2, 3, 4, 7, 11, 12, 13, 37, 41, 42, 49]

    /// 2-byte big-endian length, then the message.
    static func frame(_ message: [UInt8]) -> [UInt8] {
        [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }

    static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    /// `bytes` with the first occurrence of `old` (ASCII) replaced by `new`; for building malformed messages.
    static func replacing(_ bytes: [UInt8], _ old: String, with new: String) -> [UInt8] {
        let pattern = Array(old.utf8)
        for start in 0...(bytes.count - pattern.count) where Array(bytes[start..<(start + pattern.count)]) == pattern {
            return Array(bytes[..<start]) + Array(new.utf8) + Array(bytes[(start + pattern.count)...])
        }
        preconditionFailure("'\(old)' is not in the message")
    }

    /// A 16-digit card number that differs per `number` (Luhn is not checked by the switch).
    static func card(_ number: Int, test: Int = 0) -> String {
        "6037" + digits(test % 10_000, 4) + digits(number, 8)
    }
}

/// One POS terminal: its id, acquirer, merchant and a STAN counter. Each `message` gets the next STAN unless one
/// is given; transmission date-time is fixed per terminal so keys differ by STAN.
struct Terminal {
    var terminalId = "TERM0001"
    var acquirer = "12345678"
    var merchant = "MERCHANT0000001"
    /// Field 7, and fields 13 and 12 (the terminals' zone is UTC by default): the time this test process started,
    /// so offline advices are recent and every terminal of a test builds the same keys.
    var transmission = Terminal.startTransmission
    var nextStan = 1
    var dialect = Wire.dialect

    static let startTransmission: String = {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        return Wire.digits(Int(parts.tm_mon) + 1, 2) + Wire.digits(Int(parts.tm_mday), 2)
            + Wire.digits(Int(parts.tm_hour), 2) + Wire.digits(Int(parts.tm_min), 2) + Wire.digits(Int(parts.tm_sec), 2)
    }()

    init(id: String = "TERM0001", acquirer: String = "12345678", firstStan: Int = 1, dialect: Dialect = Wire.dialect) {
        self.dialect = dialect
        terminalId = id
        self.acquirer = acquirer
        nextStan = firstStan
    }

    /// A request with fields 2, 3, 4, 7, 11, 12, 13, 18, 22, 25, 32, 37, 41, 42, 49 (each only when it applies).
    mutating func message(
        _ mti: Int, processing: String? = nil, card: String? = nil, amount: Int64? = nil, stan: Int? = nil,
        original: String? = nil
    ) -> ISOMessage {
        let stan =
            stan
            ?? {
                defer { nextStan += 1 }
                return nextStan
            }()
        var message = ISOMessage(dialect: dialect, mti: MTI(mti)!)
        do {
            if let card { try message.set(2, card) }
            if let processing { try message.set(3, processing) }
            if let amount { try message.set(4, integer: amount) }
            try message.set(7, transmission)
            try message.set(11, Wire.digits(stan, 6))
            try message.set(12, String(transmission.suffix(6)))
            try message.set(13, String(transmission.prefix(4)))
            if mti != 800 {
                try message.set(18, "5411")
                try message.set(22, "021")
                try message.set(25, "00")
            }
            try message.set(32, acquirer)
            if mti != 800 { try message.set(37, "RRN" + Wire.digits(stan, 9)) }
            try message.set(41, terminalId)
            if mti != 800 {
                try message.set(42, merchant)
                try message.set(49, "364")
            }
            if let original { try message.set(90, original) }
        } catch {
            preconditionFailure("test request does not fit the dialect: \(error)")
        }
        return message
    }

    /// Field 90 naming an earlier request of this terminal: MTI, STAN, transmission date-time, acquirer (11,
    /// zero-filled), forwarding institution (11 zeros).
    func originalData(mti: Int, stan: Int) -> String {
        Wire.digits(mti, 4) + Wire.digits(stan, 6) + transmission + Wire.digits(Int(acquirer)!, 11)
            + String(repeating: "0", count: 11)
    }

    mutating func purchase(_ card: String, _ amount: Int64, stan: Int? = nil) -> ISOMessage {
        message(200, processing: "000000", card: card, amount: amount, stan: stan)
    }

    mutating func redeem(_ card: String, _ amount: Int64, stan: Int? = nil) -> ISOMessage {
        message(200, processing: "900000", card: card, amount: amount, stan: stan)
    }

    mutating func balance(_ card: String) -> ISOMessage {
        message(200, processing: "310000", card: card)
    }
}

extension SwitchClient {
    /// The available points of `card` by a balance inquiry (nil when the switch does not approve it).
    func availablePoints(_ card: String, terminal: inout Terminal) throws -> Int64? {
        let reply = try exchange(terminal.balance(card))
        guard reply.code == "00" else { return nil }
        return reply.available
    }

    /// Like `availablePoints`, but asks again (at most 50 times) while the inquiry itself is shed with 91.
    func availablePointsRetrying(_ card: String, terminal: inout Terminal) throws -> Int64? {
        for _ in 0..<50 {
            let reply = try exchange(terminal.balance(card))
            if reply.code == "00" { return reply.available }
            guard reply.code == "91" else { return nil }
            usleep(20_000)
        }
        return nil
    }
}

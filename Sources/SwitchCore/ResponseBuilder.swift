import ISO8583
import Ledger

/// Builds responses as wire contract v1 says: the request's fields 2, 3, 4, 7, 11, 12, 13, 37, 41, 42, 49
/// echoed byte for byte, 38 on approval, 39, and 54 with balances and the points moved.
enum ResponseBuilder {
    static let echoedFields = [2, 3, 4, 7, 11, 12, 13, 37, 41, 42, 49]

    /// A response skeleton: response MTI and the echoed fields. 38, 39 and 54 are added when the outcome is known.
    static func skeleton(for request: ISOMessage, into response: inout ISOMessage) {
        response.removeAll(mti: request.mti!.response)
        for field in echoedFields where request.has(field) {
            try? response.copy(field, from: request)
        }
        if request.mti!.withoutRepeat.value == 800, request.has(70) { try? response.copy(70, from: request) }
    }

    /// Completes `response` with the ledger's outcome.
    static func complete(
        _ response: inout ISOMessage, reply: LedgerReply, kind: TransactionKind, program: Program, currency: [UInt8]?
    ) {
        let code = reply.status.responseCode
        if reply.status.isApproval {
            try? response.set(38, approvalCode(reply.key))
        }
        try? response.set(39, code)
        if reply.status == .partiallyApproved {
            try? response.set(4, integer: program.amountPaid(points: reply.debited.points))
        }
        if reply.status.isApproval || reply.status == .insufficientFunds {
            let amounts = additionalAmounts(reply, currency: currency)
            if !amounts.isEmpty { try? response.set(54, amounts) }
        }
    }

    /// A response that needs no ledger: 39 only.
    static func complete(_ response: inout ISOMessage, code: String) {
        try? response.set(39, code)
    }

    /// Six digits derived from the request key, so a replayed response is identical byte for byte.
    static func approvalCode(_ key: IdempotencyKey) -> String {
        var value = key.word0 &* 0x9E37_79B9_7F4A_7C15 ^ key.word1 ^ key.word2 &* 0xBF58_476D_1CE4_E5B9 ^ key.word3
        value ^= value >> 29
        let number = value % 1_000_000
        let text = String(number)
        return String(repeating: "0", count: 6 - text.count) + text
    }

    /// Field 54 entries: available points (02), ledger points when holds differ (01), points credited (90),
    /// points debited (91); store credit the same way in the transaction currency when there is any.
    static func additionalAmounts(_ reply: LedgerReply, currency: [UInt8]?) -> String {
        var entries: [String] = []
        entries.append(entry("02", "999", reply.available.points))
        if reply.balance.points != reply.available.points { entries.append(entry("01", "999", reply.balance.points)) }
        if reply.credited.points > 0 { entries.append(entry("90", "999", reply.credited.points)) }
        if reply.debited.points > 0 { entries.append(entry("91", "999", -reply.debited.points)) }
        let currencyCode = currency.map { String(decoding: $0, as: UTF8.self) } ?? "000"
        if reply.available.credit != 0 || reply.credited.credit != 0 || reply.debited.credit != 0 {
            entries.append(entry("02", currencyCode, reply.available.credit))
            if reply.credited.credit > 0 { entries.append(entry("90", currencyCode, reply.credited.credit)) }
            if reply.debited.credit > 0 { entries.append(entry("91", currencyCode, -reply.debited.credit)) }
        }
        return entries.prefix(6).joined()
    }

    /// One 20-character entry: account type 00, amount type, currency, sign C/D, 12-digit amount.
    static func entry(_ amountType: String, _ currency: String, _ amount: Int64) -> String {
        let sign = amount >= 0 ? "C" : "D"
        let digits = String(amount.magnitude)
        let padded = String(repeating: "0", count: max(0, 12 - digits.count)) + digits.suffix(12)
        return "00" + amountType + currency + sign + padded
    }
}

import ISO8583
import Ledger
import Loyalty

/// Builds responses as wire contract v1 says: the request's fields 2, 3, 4, 7, 11, 12, 13, 37, 41, 42, 49
/// echoed byte for byte, 38 on approval, 39, and 54 with balances and the points moved. Field values are
/// written into stack buffers: no String is built per response.
enum ResponseBuilder {
    static let echoedFields = [2, 3, 4, 7, 11, 12, 13, 37, 41, 42, 49]
    /// Field 54 holds at most 6 entries of 20 characters.
    static let amountEntriesMax = 6
    static let amountEntryLength = 20

    /// A response skeleton: response MTI and the echoed fields. 38, 39 and 54 are added when the outcome is known.
    static func skeleton(for request: ISOMessage, into response: inout ISOMessage) {
        guard let responseMTI = request.mti?.response else {
            preconditionFailure("only a request or an advice gets a response skeleton")
        }
        assert(request.has(11), "a request without a STAN is closed on, never answered")
        // Same dialect: every echo is a byte copy that cannot fail, so the echoes below always hold.
        precondition(response.dialect === request.dialect, "a response speaks its request's dialect")
        response.removeAll(mti: responseMTI)
        // Cannot fail: the echoes are fewer bytes than the request they come from.
        try? response.copyPresent(echoedFields, from: request)
        if request.mti!.withoutRepeat.value == 800, request.has(70) { try? response.copy(70, from: request) }
        precondition(response.mti == responseMTI, "a response carries its request's class, function + 1")
        precondition(
            response.has(2) == request.has(2) && response.has(4) == request.has(4) && response.has(11)
                && response.has(37) == request.has(37) && response.has(41) == request.has(41),
            "a response echoes the request's 2, 4, 11, 37 and 41")
        precondition(
            response.has(3) == request.has(3) && response.has(7) == request.has(7)
                && response.has(42) == request.has(42) && response.has(49) == request.has(49),
            "a response echoes the request's 3, 7, 42 and 49")
        assert(!response.has(38) && !response.has(39), "38 and 39 wait for the outcome")
    }

    /// Completes `response` with the ledger's outcome. A replay carries the stored outcome, so the response is
    /// the original's byte for byte; an original the switch answered 91 and undid replays as `.undone`, i.e. 91.
    /// `redemption` (read only for a partial approval) converts a hold's points to field 4.
    static func complete(
        _ response: inout ISOMessage, reply: LedgerReply, redemption: @autoclosure () -> RedemptionPolicy
    ) {
        precondition(response.mti.map { $0.function == 1 || $0.function == 3 } == true, "a response skeleton")
        assert(!response.has(39), "a response is completed once")
        assert(!response.has(38) && !response.has(54), "38 and 54 wait for the outcome")
        precondition(
            reply.debited.points >= 0 && reply.credited.points >= 0 && reply.debited.credit >= 0
                && reply.credited.credit >= 0,
            "the ledger reports what moved as magnitudes")
        let approved = reply.status.isApproval
        if approved { setApprovalCode(&response, reply.key) }
        setCode(&response, ResponseCode(reply.status))
        if reply.status == .partiallyApproved {
            // A payment says what it paid; a hold (points only) is worth its points.
            if reply.receipt.amountPaidMinor > 0, let requested = response.integer(4) {
                precondition(reply.receipt.amountPaidMinor <= requested, "a partial approval pays no more than asked")
            }
            let paid =
                reply.receipt.amountPaidMinor > 0
                ? reply.receipt.amountPaidMinor : redemption().amountPaid(points: reply.debited.points)
            precondition(paid >= 0, "a partial approval pays a magnitude")
            try? response.set(4, integer: paid)
        }
        if approved || reply.status == .insufficientFunds {
            setAdditionalAmounts(&response, reply)
        }
        assert(response.has(38) == false || approved, "an approval code only on 00 or 10")
        assert(!response.has(54) || approved || reply.status == .insufficientFunds, "balances only on 00, 10, 51")
    }

    /// Field 63 on an approved purchase under loyalty rules: a line a terminal may print. Built from the ledger's
    /// outcome only, so a replayed response carries the same text. Skipped when the dialect has no field 63.
    /// Field 63 of a 58: why the value cannot pay here (fixed text, so a repeat is byte for byte the same).
    static let notSpendableHereText: StaticString = "NOT SPENDABLE AT THIS MERCHANT: EARNED OUTSIDE ITS GROUP"

    /// Sets field 63 to a fixed line, when the dialect defines the field.
    static func setReceiptText(_ response: inout ISOMessage, _ text: StaticString) {
        precondition(text.utf8CodeUnitCount <= ReceiptWriter.capacity, "a receipt line within the receipt's capacity")
        precondition(response.mti != nil, "a receipt goes on a response")
        text.withUTF8Buffer { bytes in _ = try? response.set(63, canonicalBytes: UnsafeRawBufferPointer(bytes)) }
    }

    static func setReceipt(_ response: inout ISOMessage, _ reply: LedgerReply, names: ReceiptNames) {
        precondition(reply.status.isApproval && reply.gift == nil, "a receipt only on a loyalty approval")
        precondition(names.version > 0, "the embedded program names nothing on a receipt")
        var writer = ReceiptWriter()
        writeReceipt(reply, names: names, into: &writer)
        precondition(writer.count > 0 && writer.count <= ReceiptWriter.capacity, "a receipt line within its capacity")
        writer.withBytes { bytes in _ = try? response.set(63, canonicalBytes: bytes) }
    }

    /// "POINTS +12 BALANCE 340 | CREDIT +1500 BALANCE 1500 | TIER GOLD (UP FROM SILVER) | OFFER X APPLIED". Tier
    /// and offer names come from the names of the version that decided, looked up by what the ledger recorded.
    static func writeReceipt(_ reply: LedgerReply, names: ReceiptNames, into writer: inout ReceiptWriter) {
        let receipt = reply.receipt
        let start = writer.count
        precondition(start >= 0 && start <= ReceiptWriter.capacity, "a writer within its capacity")
        defer {
            precondition(
                writer.count >= start && writer.count <= ReceiptWriter.capacity,
                "a receipt only grows, within its capacity")
        }
        // A purchase says what it earned; a balance inquiry only what there is.
        writer.append("POINTS ")
        if receipt.isDecided { writeEarned(reply.credited.points, &writer) }
        writer.append("BALANCE ")
        writer.append(reply.available.points)
        if reply.credited.credit != 0 || reply.available.credit != 0 {
            writer.append(" | CREDIT ")
            if receipt.isDecided { writeEarned(reply.credited.credit, &writer) }
            writer.append("BALANCE ")
            writer.append(reply.available.credit)
        }
        if let tier = names.tier(receipt.tier) {
            writer.append(" | TIER ")
            writer.append(tier)
            if receipt.isDecided, receipt.tier != receipt.tierBefore, let before = names.tier(receipt.tierBefore) {
                writer.append(receipt.tier > receipt.tierBefore ? " (UP FROM " : " (DOWN FROM ")
                writer.append(before)
                writer.append(")")
            }
        }
        if let offer = names.offer(withHash: receipt.offerAppliedHash) {
            writer.append(" | OFFER ")
            writer.append(offer.identifier)
            writer.append(" APPLIED")
        }
        if let offer = names.offer(withHash: receipt.offerGrantedHash) {
            writer.append(" | OFFER ")
            writer.append(offer.identifier)
            writer.append(": ")
            writeReward(offer, &writer)
            writeCondition(offer, &writer)
        }
    }

    /// When a granted or announced offer pays: "ON YOUR NEXT PURCHASE WITHIN 20 DAYS", "ON YOUR NEXT PURCHASE OF
    /// 200000 OR MORE", "ON ONE OF YOUR NEXT 3 PURCHASES OF 200000 OR MORE", "ON A PURCHASE OF 200000 OR MORE".
    static func writeCondition(_ offer: Loyalty.Program.OfferSummary, _ writer: inout ReceiptWriter) {
        let start = writer.count
        defer {
            precondition(
                writer.count >= start && writer.count <= ReceiptWriter.capacity,
                "a receipt only grows, within its capacity")
        }
        if offer.purchaseAtLeastMinor < 0 {
            writer.append(" ON YOUR NEXT PURCHASE WITHIN ")
            writer.append(offer.returnWithinDays)
            writer.append(" DAYS")
            return
        }
        switch offer.validVisits {
        case 0: writer.append(" ON A PURCHASE OF ")
        case 1: writer.append(" ON YOUR NEXT PURCHASE OF ")
        default:
            writer.append(" ON ONE OF YOUR NEXT ")
            writer.append(offer.validVisits)
            writer.append(" PURCHASES OF ")
        }
        writer.append(offer.purchaseAtLeastMinor)
        writer.append(" OR MORE")
    }

    private static func writeEarned(_ amount: Int64, _ writer: inout ReceiptWriter) {
        precondition(amount >= 0, "what was earned is a magnitude")
        writer.append("+")
        writer.append(amount)
        writer.append(" ")
    }

    /// "20% CREDIT", "+50 POINTS", or both; basis points shown as a percentage with up to two decimals.
    static func writeReward(_ offer: Loyalty.Program.OfferSummary, _ writer: inout ReceiptWriter) {
        let start = writer.count
        defer {
            precondition(
                writer.count >= start && writer.count <= ReceiptWriter.capacity,
                "a receipt only grows, within its capacity")
        }
        if offer.creditBasisPoints > 0 {
            writer.append(offer.creditBasisPoints / 100)
            let hundredths = offer.creditBasisPoints % 100
            precondition(hundredths >= 0 && hundredths < 100, "hundredths of a percent are two digits")
            if hundredths != 0 {
                writer.append(hundredths < 10 ? ".0" : ".")
                writer.append(hundredths)
            }
            writer.append("% CREDIT")
        }
        if offer.bonusPoints > 0 {
            writer.append(offer.creditBasisPoints > 0 ? " AND +" : "+")
            writer.append(offer.bonusPoints)
            writer.append(" POINTS")
        }
    }

    /// A response that needs no ledger: 39 only.
    static func complete(_ response: inout ISOMessage, code: ResponseCode) {
        precondition(response.mti.map { $0.function == 1 || $0.function == 3 } == true, "a response skeleton")
        assert(!response.has(39), "a response is completed once")
        precondition(
            !response.has(38) && !response.has(54),
            "a response without the ledger carries no approval code or balances")
        setCode(&response, code)
    }

    static func setCode(_ response: inout ISOMessage, _ code: ResponseCode) {
        precondition(response.mti.map { $0.function == 1 || $0.function == 3 } == true, "a code goes on a response")
        assert(!response.has(39), "field 39 is set once")
        code.withBytes { _ = try? response.set(39, canonicalBytes: $0) }
        assert(response.has(39), "a listener's dialect holds every response code (checked at start)")
    }

    /// Six digits derived from the request key, so a replayed response is identical byte for byte.
    static func approvalCode(_ key: IdempotencyKey) -> UInt64 {
        var value = key.word0 &* 0x9E37_79B9_7F4A_7C15 ^ key.word1 ^ key.word2 &* 0xBF58_476D_1CE4_E5B9 ^ key.word3
        value ^= value >> 29
        let code = value % 1_000_000
        precondition(code < 1_000_000, "an approval code is six digits")
        return code
    }

    static func setApprovalCode(_ response: inout ISOMessage, _ key: IdempotencyKey) {
        assert(!response.has(38) && !response.has(39), "the approval code is set once, before field 39")
        var digits = InlineArray<6, UInt8>(repeating: 0x30)
        var value = approvalCode(key)
        precondition(value < 1_000_000, "an approval code is six digits")
        for index in stride(from: 5, through: 0, by: -1) {
            digits[index] = UInt8(truncatingIfNeeded: 0x30 + value % 10)
            value /= 10
        }
        precondition(value == 0, "six digits hold the whole approval code")
        var span = digits.mutableSpan
        span.withUnsafeMutableBytes { try? response.set(38, canonicalBytes: UnsafeRawBufferPointer($0)) }
    }

    /// Field 54 entries: available points (02), ledger points when holds differ (01), points credited (90),
    /// points debited (91); store credit the same way in the transaction currency when there is any.
    static func setAdditionalAmounts(_ response: inout ISOMessage, _ reply: LedgerReply) {
        var text = InlineArray<120, UInt8>(repeating: 0x20)
        var count = 0
        assert(!response.has(54), "field 54 is set once")
        func add(_ amountType: UInt16, _ currency: (UInt8, UInt8, UInt8), _ amount: Int64) {
            guard count < amountEntriesMax else { return }
            writeEntry(&text, at: count * amountEntryLength, amountType, currency, amount)
            count += 1
        }
        if let gift = reply.gift {
            // A gift card shows its own value only, in its own currency (points and credit are not its business).
            let code = gift.currencyCode
            precondition(code <= 999, "a currency code is three digits")
            add(2, (UInt8(0x30 + code / 100 % 10), UInt8(0x30 + code / 10 % 10), UInt8(0x30 + code % 10)), gift.balanceMinor)
        } else {
            addLoyaltyAmounts(reply, response, add)
        }
        precondition(count >= 1 && count <= amountEntriesMax, "field 54 holds 1...6 entries, the balance first")
        precondition(count * amountEntryLength <= text.count, "field 54's entries fit its buffer")
        var span = text.mutableSpan
        span.withUnsafeMutableBytes { bytes in
            try? response.set(
                54, canonicalBytes: UnsafeRawBufferPointer(rebasing: bytes[0..<(count * amountEntryLength)]))
        }
    }

    /// Points first (available, ledger when holds differ, credited, debited), then store credit in the
    /// transaction currency when there is any.
    private static func addLoyaltyAmounts(
        _ reply: LedgerReply, _ response: ISOMessage, _ add: (UInt16, (UInt8, UInt8, UInt8), Int64) -> Void
    ) {
        precondition(reply.gift == nil, "a gift card shows its own value only")
        let points: (UInt8, UInt8, UInt8) = (0x39, 0x39, 0x39)
        add(2, points, reply.available.points)
        if reply.balance.points != reply.available.points { add(1, points, reply.balance.points) }
        if reply.credited.points > 0 { add(90, points, reply.credited.points) }
        if reply.debited.points > 0 { add(91, points, -reply.debited.points) }
        if reply.available.credit != 0 || reply.credited.credit != 0 || reply.debited.credit != 0 {
            // Field 49 is read only here: most responses carry points alone and need no currency.
            let currency = response.value(49)
            let code = currency.map { $0.count == 3 ? ($0[0], $0[1], $0[2]) : (0x30, 0x30, 0x30) } ?? (0x30, 0x30, 0x30)
            add(2, code, reply.available.credit)
            if reply.credited.credit > 0 { add(90, code, reply.credited.credit) }
            if reply.debited.credit > 0 { add(91, code, -reply.debited.credit) }
        }
    }

    /// One 20-character entry: account type 00, amount type, currency, sign C/D, 12-digit amount (the magnitude
    /// is capped at 12 digits).
    static func writeEntry(
        _ text: inout InlineArray<120, UInt8>, at offset: Int, _ amountType: UInt16, _ currency: (UInt8, UInt8, UInt8),
        _ amount: Int64
    ) {
        precondition(
            offset >= 0 && offset % amountEntryLength == 0 && offset / amountEntryLength < amountEntriesMax,
            "one of field 54's six entry slots")
        precondition(amountType <= 99, "amount types are two digits")
        text[offset] = 0x30
        text[offset + 1] = 0x30
        text[offset + 2] = UInt8(0x30 + amountType / 10)
        text[offset + 3] = UInt8(0x30 + amountType % 10)
        text[offset + 4] = currency.0
        text[offset + 5] = currency.1
        text[offset + 6] = currency.2
        text[offset + 7] = amount >= 0 ? UInt8(ascii: "C") : UInt8(ascii: "D")
        var magnitude = min(amount.magnitude, 999_999_999_999)
        for index in stride(from: offset + 19, through: offset + 8, by: -1) {
            text[index] = UInt8(truncatingIfNeeded: 0x30 + magnitude % 10)
            magnitude /= 10
        }
        precondition(magnitude == 0, "twelve digits hold the capped amount")
    }
}

import Foundation
import Glibc
import ISO8583
import Ledger
import Loyalty
import LoyaltyLedger
import Network

extension SwitchConnection {
    /// Routes one decoded request: network management and errors are answered here; the rest goes to the ledger.
    ///
    /// The request is read through one local copy handed to every step: each read of the stored `self.request`
    /// passed to another function costs a copy of the message (retains and releases of its buffers), ten per
    /// request before (~2,700 instructions, benchmarks/RESULTS.md).
    func authorize(digest: ContentDigest, tpdu: UInt64?) {
        let request = self.request
        precondition(request.mti != nil, "a decoded request has its MTI")
        context.loop.preconditionInEventLoop()
        let mti = request.mti!
        let transactionType = request.integer(3).map { Int($0 / 10_000) }
        let kind = TransactionKind.classify(mti: mti, transactionType: transactionType)
        guard mti.expectsResponse else {
            closeUnanswerable(mti)
            return
        }
        // Without a STAN no response could be matched: the contract closes the connection instead.
        guard request.has(11) else {
            context.runtime.log.warning(
                "connection \(connection.id) from \(connection.peer): \(mti) without field 11; closing")
            connection.close(.protocolError("\(mti) without field 11"))
            return
        }
        ResponseBuilder.skeleton(for: request, into: &response)
        assert(response.mti == mti.response && response.has(11), "the skeleton answers this request")
        if let (field, index) = InterpretedFields.firstOutsideTypeClass(request) {
            context.runtime.log.warning(
                "connection \(connection.id) from \(connection.peer): format error in \(mti): field \(field) byte "
                    + "\(index) is outside its type's characters; answered 30")
            answerNow(.formatError, tpdu: tpdu)
            return
        }
        switch kind {
        case .networkManagement:
            answerNetworkManagement(tpdu: tpdu)
            return
        case .unsupported:
            answerNow(.invalidTransaction, tpdu: tpdu)
            return
        default:
            break
        }
        if let refusal = transmissionAgeRefusal(request) {
            answerNow(refusal, tpdu: tpdu)
            return
        }
        switch ledgerOperation(kind, request) {
        case .failure(let refusal):
            answerNow(refusal.code, tpdu: tpdu)
        case .success(let (operation, card)):
            submit(kind: kind, operation: operation, card: card, digest: digest, tpdu: tpdu, request: request)
        }
    }

    func submit(
        kind: TransactionKind, operation: LedgerOperation, card: CardNumber, digest: ContentDigest, tpdu: UInt64?,
        request: ISOMessage
    ) {
        precondition(kind != .networkManagement && kind != .unsupported, "only ledger requests are submitted")
        assert(response.mti != nil && !response.has(39), "the skeleton waits for the ledger's outcome")
        let key = RequestKeys.key(of: request)
        precondition(key.word0 >> 48 == UInt64(request.mti!.withoutRepeat.value), "a request's key starts with its MTI")
        if context.runtime.isInDoubt(key) {
            answerNow(.notAnsweredInTime, tpdu: tpdu)
            return
        }
        var state = PendingRequest()
        state.connection = self
        // The skeleton moves into the pending entry, swapped for the next request's: one owner, nothing retained.
        var skeleton = nextResponse()
        swap(&skeleton, &response)
        state.response = consume skeleton
        state.kind = kind
        state.key = key
        state.card = card
        state.deadlineNs = monotonicNanoseconds() + context.budgetNs
        state.tpdu = tpdu
        // Purchases carry their RRN as a second name, so a refund without field 90 can find them by field 37.
        let reference =
            kind == .purchase || kind == .offlinePurchase ? RequestKeys.retrievalReference(of: request) : nil
        // Every request carries its terminal + STAN, so a reversal without field 90 can find it whatever its class
        // and time (the ledger keeps it only on what a reversal can undo).
        var ledgerRequest = LedgerRequest(
            tag: 0, key: key, digest: digest, card: card, operation: operation, reference: reference ?? .zero,
            terminalReference: RequestKeys.terminalReference(of: request))
        ledgerRequest.sale = saleDetail(kind, request)
        // A hold or completion spends only value the merchant's groups allow (as a redemption does).
        if kind == .hold || kind == .completion {
            ledgerRequest.merchant = MerchantName(shortIdentifier(42, request))
        }
        // A gift card pays and answers only in its own currency: the shard compares it with field 49.
        if kind == .redeem || kind == .balanceInquiry {
            ledgerRequest.currencyCode = request.integer(49).map { UInt16(clamping: $0) } ?? 0
        }
        attachBasket(to: &ledgerRequest, kind: kind, request: request)
        guard context.enqueue(ledgerRequest, &state) else {
            // Not queued: the skeleton comes back to be answered now; the next request's goes back to the spares.
            var next = state.response.take()!
            swap(&next, &response)
            recycle(consume next)
            answerNow(.notAnsweredInTime, tpdu: tpdu)
            return
        }
        inFlight += 1
        precondition(inFlight >= 1 && inFlight <= context.pending.count, "a request in flight is pending")
        if inFlight >= context.runtime.configuration.inFlightPerConnectionMax { connection.pauseReading() }
    }

    func answerNow(_ code: ResponseCode, tpdu: UInt64?) {
        precondition(code != .partiallyApproved, "only the ledger approves in part")
        ResponseBuilder.complete(&response, code: code)
        send(response, tpdu: tpdu)
    }

    /// 0800: sign-on (001), sign-off (002), echo (301) are approved; other codes get 12.
    func answerNetworkManagement(tpdu: UInt64?) {
        precondition(response.mti?.value == 810, "a network management request is answered 0810")
        let name: String
        switch request.integer(70) {
        case 1: name = "sign-on"
        case 2: name = "sign-off"
        case 301: name = "echo"
        default:
            answerNow(.invalidTransaction, tpdu: tpdu)
            return
        }
        if name != "echo" {
            let terminal = request.string(41) ?? "-"
            context.runtime.log.info(
                "connection \(connection.id) from \(connection.peer): \(name) terminal \(terminal)")
        }
        answerNow(.approved, tpdu: tpdu)
    }

    /// 05 for a request older than the key retention (or too far ahead) by field 7, 30 without a readable one;
    /// nil when it may go to the ledger (`RequestAge`).
    func transmissionAgeRefusal(_ request: ISOMessage) -> ResponseCode? {
        // One field, not a copy of the whole configuration (it was one per request).
        let retentionHours = context.runtime.configuration.requestKeyRetentionHours
        let retentionMs = Int64(retentionHours) * 3_600_000
        switch RequestAge.judge(field7: request.integer(7), nowMs: context.runtime.clockMs(), retentionMs: retentionMs) {
        case .fresh:
            return nil
        case .unreadable:
            return .formatError
        case .stale(let ageMs):
            precondition(ageMs > retentionMs, "a stale request is older than the retention")
            context.runtime.log.info(
                "connection \(connection.id) from \(connection.peer): \(request.mti!) sent \(ageMs / 3_600_000) h ago by "
                    + "field 7 (request keys are kept \(retentionHours) h): declined 05")
            return .declined
        case .future(let aheadMs):
            precondition(aheadMs > RequestAge.futureToleranceMs, "a future request is beyond the tolerance")
            context.runtime.log.info(
                "connection \(connection.id) from \(connection.peer): \(request.mti!) stamped \(aheadMs / 1000) s ahead by "
                    + "field 7 (tolerance \(RequestAge.futureToleranceMs / 1000) s): declined 05")
            return .declined
        }
    }

    /// The ledger operation for a request, or the response code that refuses it.
    func ledgerOperation(
        _ kind: TransactionKind, _ request: ISOMessage
    ) -> Result<(LedgerOperation, CardNumber), ResponseCodeError> {
        precondition(kind != .networkManagement && kind != .unsupported, "answered before the ledger is asked")
        let rules = context.rules
        let autoEnrol = context.runtime.configuration.autoEnrol
        let amount = request.integer(4)
        if kind.needsAmount {
            guard let amount else { return .failure(ResponseCodeError(.formatError)) }
            guard amount > 0 else { return .failure(ResponseCodeError(.invalidAmount)) }
        }
        guard let card = cardNumber(request) else {
            return .failure(ResponseCodeError(request.has(2) || request.has(35) ? .unknownCard : .formatError))
        }
        let amountMinor = amount ?? 0
        precondition(!kind.needsAmount || amountMinor > 0, "a request that needs an amount has a positive one")
        // Field 48 carries what some transactions add (AdditionalData.swift); malformed or misplaced is 30.
        guard let additional = AdditionalData.parse(request, for: kind) else {
            return .failure(ResponseCodeError(.formatError))
        }
        var saleTimeMs: Int64?
        if kind == .offlinePurchase {
            switch offlineSaleTime(request) {
            case .success(let time): saleTimeMs = time
            case .failure(let refusal): return .failure(refusal)
            }
        }
        switch kind {
        case .purchase, .offlinePurchase:
            // The ledger's shard decides by the rules in force (configured, or the embedded program), from the
            // member's own aggregates (tier, history).
            var transaction = loyaltyTransaction(amountMinor, rules, request)
            transaction.serviceCode = additional.serviceCode
            // The part already paid with points (a 91 entry in the request's field 54) earns nothing.
            guard let paidWithPoints = AdditionalAmounts.paidWithPointsMinor(in: request) else {
                return .failure(ResponseCodeError(.formatError))
            }
            guard paidWithPoints <= amountMinor else { return .failure(ResponseCodeError(.invalidAmount)) }
            precondition(
                paidWithPoints >= 0 && transaction.amountMinor == amountMinor, "the paid part is within field 4")
            transaction.paidWithPointsAmountMinor = paidWithPoints
            return .success((.purchase(transaction: transaction, saleTimeMs: saleTimeMs, autoEnrol: autoEnrol), card))
        case .redeem:
            // The shard decides how credit and points pay, from the balances it holds (ResponseBuilder shows it).
            // The share cap applies to the purchase total that field 48 (PT) names, never to the payment itself.
            if let total = additional.purchaseTotalMinor, total < amountMinor {
                return .failure(ResponseCodeError(.invalidAmount))
            }
            precondition(
                amountMinor > 0 && (additional.purchaseTotalMinor ?? amountMinor) >= amountMinor,
                "a payment within its purchase")
            let pay = LedgerOperation.pay(
                amountMinor: amountMinor, purchaseTotalMinor: additional.purchaseTotalMinor,
                policy: rules.redemption, merchant: shortIdentifier(42, request))
            return .success((pay, card))
        case .hold:
            let points = rules.redemption.pointsToPay(amountMinor: amountMinor)
            precondition(points >= 1, "a hold of a positive amount holds at least a point")
            let operation = LedgerOperation.hold(
                asset: .points, amount: points, allowPartial: rules.redemption.partialApproval,
                expiresAfterMs: context.runtime.configuration.holdExpiryMs)
            return .success((operation, card))
        case .completion:
            guard let original = RequestKeys.originalKey(from: request), let amount else {
                return .failure(ResponseCodeError(.formatError))
            }
            let points = rules.redemption.pointsToPay(amountMinor: amount)
            precondition(points >= 0 && points <= max(amount, 0), "a capture takes at most a point per minor unit")
            return .success((.capture(holdKey: original, amount: points), card))
        case .refund:
            // Field 90 names the original; without it, field 37 repeats the original's RRN.
            guard let original = RequestKeys.originalKey(from: request) ?? RequestKeys.retrievalReference(of: request)
            else { return .failure(ResponseCodeError(.formatError)) }
            precondition(amountMinor > 0, "a refund returns a positive amount")
            return .success((.refund(originalKey: original, refundAmountMinor: amountMinor), card))
        case .balanceInquiry:
            return .success((.balance, card))
        case .profile:
            // The birthday is a month and day of the rules' calendar (Gregorian for the embedded program).
            let calendar = context.rules.calendar.system
            if additional.birthMonth != 0 || additional.birthDay != 0,
                !calendar.isBirthday(month: Int(additional.birthMonth), day: Int(additional.birthDay))
            {
                return .failure(ResponseCodeError(.invalidAmount))
            }
            let profile = MemberProfile(
                birthMonth: additional.birthMonth, birthDay: additional.birthDay, referrer: additional.referrer)
            return .success((.profile(profile), card))
        case .reversal:
            // Field 90 names the original exactly; without it, the same terminal + STAN (the newest such operation).
            let original = RequestKeys.originalKey(from: request) ?? RequestKeys.terminalReference(of: request)
            return .success((.reverse(originalKey: original), card))
        case .networkManagement, .unsupported:
            return .failure(ResponseCodeError(.invalidTransaction))
        }
    }

    /// When an offline advice's sale happened (fields 13 and 12, in the terminals' zone), nil without them (the
    /// ledger's time is used, as for an online purchase). Impossible dates are a format error (30); a sale older
    /// than `offlineAdviceAgeMaxHours` or later than now (beyond the tolerance) is declined (05).
    func offlineSaleTime(_ request: ISOMessage) -> Result<Int64?, ResponseCodeError> {
        guard request.has(13), request.has(12) else { return .success(nil) }
        let configuration = context.runtime.configuration
        let nowMs = context.runtime.clockMs()
        let referenceMs = request.integer(7).flatMap { SaleTime.transmissionMs($0, nowMs: nowMs) } ?? nowMs
        guard let localDate = request.integer(13), let localTime = request.integer(12),
            let saleMs = SaleTime.utcMs(
                localDate: localDate, localTime: localTime, utcOffsetMinutes: configuration.terminalUtcOffsetMinutes,
                referenceMs: min(referenceMs, nowMs))
        else { return .failure(ResponseCodeError(.formatError)) }
        let ageMaxMs = Int64(configuration.offlineAdviceAgeMaxHours) * 3_600_000
        guard saleMs >= nowMs - ageMaxMs, saleMs <= nowMs + SaleTime.toleranceMs else {
            context.runtime.log.info(
                "connection \(connection.id) from \(connection.peer): offline advice of a sale \((nowMs - saleMs) / 3_600_000) h "
                    + "old (limit \(configuration.offlineAdviceAgeMaxHours) h, or in the future): declined 05")
            return .failure(ResponseCodeError(.declined))
        }
        let saleTimeMs = min(saleMs, nowMs)
        precondition(saleTimeMs <= nowMs && saleTimeMs <= saleMs, "a sale time is never ahead of the ledger's clock")
        return .success(saleTimeMs)
    }

    /// The purchase as the rules see it: amount (4), currency (49, the program's when absent), category (18),
    /// merchant (42). No rule reads the terminal yet, so field 41 is not parsed for it. Its time is the ledger's
    /// (recorded) time, set on the shard.
    func loyaltyTransaction(
        _ amountMinor: Int64, _ rules: Loyalty.Program, _ request: ISOMessage
    ) -> Loyalty.Transaction {
        precondition(amountMinor > 0, "a purchase has a positive amount")
        let currency = request.integer(49).map { UInt16(clamping: $0) } ?? rules.currencyCode
        let category = request.integer(18).map { UInt16(clamping: $0) } ?? 0
        return Loyalty.Transaction(
            amountMinor: amountMinor, currencyCode: currency, merchantCategoryCode: category,
            merchant: shortIdentifier(42, request), terminal: SwitchConnection.absentIdentifier, timeMs: 0)
    }

    /// Fields 41 and 42 as the rules' identifiers, read through a stack buffer (no array per purchase); "-" when
    /// absent or not an identifier.
    func shortIdentifier(_ field: Int, _ request: ISOMessage) -> ShortIdentifier {
        var bytes = InlineArray<16, UInt8>(repeating: 0)
        var span = bytes.mutableSpan
        let identifier = span.withUnsafeMutableBytes { buffer -> ShortIdentifier? in
            guard let count = request.copyValue(field, into: buffer) else { return nil }
            return ShortIdentifier(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        let result = identifier ?? SwitchConnection.absentIdentifier
        precondition(result.packed.high != 0, "an identifier has at least one byte")
        return result
    }

    static let absentIdentifier = ShortIdentifier("-")!

    /// Field 2, or the card number in front of the separator of track 2 (field 35).
    func cardNumber(_ request: ISOMessage) -> CardNumber? {
        var digits = InlineArray<40, UInt8>(repeating: 0)
        var span = digits.mutableSpan
        return span.withUnsafeMutableBytes { buffer -> CardNumber? in
            if let count = request.copyValue(2, into: buffer) {
                return CardNumber(ascii: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            guard let count = request.copyValue(35, into: buffer) else { return nil }
            let track = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            let end = track.firstIndex { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "D") } ?? count
            precondition(end >= 0 && end <= count, "the card number lies inside track 2")
            return CardNumber(ascii: UnsafeRawBufferPointer(rebasing: track[0..<end]))
        }
    }
}

/// A refusal before the ledger: the field 39 code to answer with.
struct ResponseCodeError: Error {
    let code: ResponseCode
    init(_ code: ResponseCode) {
        precondition(code != .approved && code != .partiallyApproved, "a refusal is never an approval")
        self.code = code
    }
}

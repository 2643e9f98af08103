/// Entry point for applying one command: idempotency first, then the operation, then the remembered outcome.
extension ShardState {
    /// `command` is inout because a live purchase gets its rules decision written into it, for the log to record.
    func apply(_ command: inout ShardCommand, nowMs: Int64) -> ApplyResult {
        preconditionOnShardThread()
        lots.currentTerms = command.lotTerms
        switch command.kind {
        case .transferIn, .transferInNewCard: return applyTransferIn(command, nowMs: nowMs)
        case .forwardCard: return applyForwardCard(command, nowMs: nowMs)
        case .transferDone: return applyTransferDone(command)
        case .expireLots: return applySweep(&command, nowMs: nowMs)
        case .notice: return applyNotice(command)
        case .inspect: return applyInspect(command)
        default: break
        }
        if let refused = prepareAdminCommand(&command) { return refused }
        if let position = idempotency.findOwn(command.key) {
            return answerKnownKey(command, position: position)
        }
        if let position = tombstone(named: command.terminalReference) {
            return answerKnownKey(command, position: position)
        }
        if idempotency.sawDamage || !originalIsReadable(command) {
            // A damaged run of remembered keys cannot say "unknown": refuse (96) rather than apply twice.
            return ApplyResult(reply: LedgerReply(tag: command.tag, key: command.key, status: .systemError), isLogged: false)
        }
        let result = perform(&command, nowMs: nowMs)
        precondition(result.member >= -1 && Int(result.member) < members.count, "an operation's member is in the table")
        precondition(
            result.status.isApproval || (result.credited == .zero && result.debited == .zero), "a decline moves nothing")
        if result.member >= 0 { reconcileLots(member: Int(result.member)) }
        let reply = makeReply(command, result)
        precondition(reply.key == command.key && reply.status == result.status, "a reply answers its command")
        // The terminal reference is kept on declines too (unlike `reference`): a reversal by terminal + STAN then
        // finds the declined original and changes nothing, as with field 90, instead of leaving a tombstone that
        // would decline the terminal's next use of that STAN.
        var outcome = StoredOutcome(
            balance: reply.balance, available: reply.available, credited: reply.credited, debited: reply.debited,
            card: reply.card, status: reply.status, receipt: reply.receipt)
        var effect = result.effect
        effect.member = result.member
        if result.settlement.payer != 0 { IdempotencyEntry.store(result.settlement, &effect, &outcome) }
        _ = idempotency.insert(
            IdempotencyEntry(
                key: command.key, reference: result.status.isApproval ? command.reference : .zero,
                terminalReference: command.terminalReference,
                digest: command.digest, createdAtMs: nowMs, outcome: outcome, effect: effect),
            nowMs: nowMs, retentionMs: limits.idempotencyRetentionMs)
        assert(idempotency.findOwn(command.key) != nil, "an applied command is remembered under its key")
        var applied = ApplyResult(reply: reply, isLogged: true)
        applied.bonusOut = result.bonusOut
        applied.touchedMember = result.member
        if command.kind == .replace || command.kind == .attach, result.status == .approved,
            let transfer = pendingTransfer(command.key)
        {
            applied.transferOut = transfer
        }
        return applied
    }

    /// Looks the original of a reversal, refund or completion up once before anything changes: false when that
    /// met a damaged run of remembered keys.
    private func originalIsReadable(_ command: ShardCommand) -> Bool {
        switch command.kind {
        case .reverse, .refund, .capture, .void:
            _ = idempotency.find(command.originalKey) ?? idempotency.find(reference: command.originalKey)
                ?? idempotency.find(terminalReference: command.originalKey)
            return !idempotency.sawDamage
        default:
            return true
        }
    }

    /// A tombstone left by a reversal without field 90 that came before its original (it is stored under the
    /// terminal reference the reversal named), so the late original is declined as it would be by key.
    /// Only commands that keep a terminal reference carry one, so a repeated reversal is never caught here.
    private func tombstone(named terminalReference: IdempotencyKey) -> Int64? {
        guard terminalReference != .zero, let position = idempotency.findOwnTombstone(terminalReference),
            idempotency[position].effect.isTombstone
        else { return nil }
        return position
    }

    /// A key seen before: the stored outcome on identical content, a conflict otherwise; a reversal that
    /// came first declines its original.
    private func answerKnownKey(_ command: ShardCommand, position: Int64) -> ApplyResult {
        precondition(position >= 0 && position < idempotency.nextPosition, "a known key's position was handed out")
        let entry = idempotency[position]
        var reply = LedgerReply(tag: command.tag, key: command.key, status: .keyConflict)
        if entry.effect.isTombstone {
            reply.status = .declined
            reply.card = command.masked
            return ApplyResult(reply: reply, isLogged: false)
        }
        guard entry.digest == command.digest else { return ApplyResult(reply: reply, isLogged: false) }
        reply.status = entry.outcome.status
        reply.isReplay = true
        reply.isReversed = entry.effect.isReversed
        reply.balance = entry.outcome.balance
        reply.available = entry.outcome.available
        reply.credited = entry.outcome.credited
        reply.debited = entry.outcome.debited
        reply.card = entry.outcome.card
        reply.receipt = entry.outcome.receipt
        // Only a gift card's entries say anything in the receipt's gift bytes (older entries had padding there).
        if entry.effect.kind != .giftLoad && entry.effect.kind != .giftUse { reply.receipt.giftCurrencyCode = 0 }
        if entry.effect.kind == .redeem { reply.receipt = LoyaltyReceipt.payment(reply.receipt.amountPaidMinor) }
        precondition(reply.isReplay && reply.key == command.key, "a repeated key answers as a replay")
        return ApplyResult(reply: reply, isLogged: false)
    }

    private func perform(_ command: inout ShardCommand, nowMs: Int64) -> OperationResult {
        _ = turnIntoGiftUse(&command)
        if refusesHold(command) { return OperationResult(.notPermitted, card: command.masked, kind: .hold) }
        switch command.kind {
        case .enrol: return performEnrol(command)
        case .profile: return performProfile(command)
        case .earn: return performEarn(&command, nowMs: nowMs)
        case .redeem: return command.isPay ? performPay(&command, nowMs: nowMs) : performRedeem(command, nowMs: nowMs)
        case .hold: return performHold(&command, nowMs: nowMs)
        case .capture: return performCapture(&command, nowMs: nowMs)
        case .void: return performVoid(command, nowMs: nowMs)
        case .reverse: return performReverse(&command, nowMs: nowMs)
        case .refund: return performRefund(&command, nowMs: nowMs)
        case .balance: return performBalance(&command, nowMs: nowMs)
        case .block: return performBlock(command)
        case .replace: return performReplace(command, nowMs: nowMs)
        case .adjust: return performAdjust(command, nowMs: nowMs)
        case .engage: return performEngage(&command, nowMs: nowMs)
        case .lotteryEntry: return performLotteryEntry(command, nowMs: nowMs)
        case .link, .attach: return performLink(&command)
        case .giftLoad: return performGiftLoad(command)
        case .giftUse: return performGiftUse(command)
        case .birthday: return performBirthday(command)
        case .none, .transferIn, .transferInNewCard, .forwardCard, .transferDone, .expireLots, .notice, .inspect:
            preconditionFailure("not a client command: \(command.kind)")
        }
    }

    func makeReply(_ command: ShardCommand, _ result: OperationResult) -> LedgerReply {
        precondition(Int(result.member) < members.count, "a result's member is in the table")
        var reply = LedgerReply(tag: command.tag, key: command.key, status: result.status)
        reply.card = result.card
        reply.credited = result.credited
        reply.debited = result.debited
        reply.receipt = result.receipt
        if result.member >= 0 {
            let member = members[Int(result.member)]
            reply.balance = member.balance
            reply.available = member.available
        }
        return reply
    }

    private func pendingTransfer(_ key: IdempotencyKey) -> OutboxTransfer? {
        for index in 0..<outbox.count where outbox[index].isPending && outbox[index].key == key {
            return outbox[index]
        }
        return nil
    }
}

/// Engagement events on the shard: the rules decide (`DecisionRules.engage`) from the member's count for the type,
/// the ledger books the points and keeps the count. The record carries the decision, so replay never asks the
/// rules.
extension ShardState {
    /// Live, the rules in force decide and the decision is written into the command; on replay the command
    /// already carries it (`decided`). The member is credited whatever its card's status, like an adjustment.
    func performEngage(_ command: inout ShardCommand, nowMs: Int64) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .engage)
        guard let index = cards.find(command.cardHash) else {
            result.status = .unknownCard
            return result
        }
        let member = Int(cards.cards[index].member)
        precondition(member >= 0 && member < members.count, "a card's member is in the table")
        result.member = Int32(member)
        if !command.isDecided {
            guard let rules else {
                result.status = .notPermitted
                return result
            }
            let counted = engagements.count(member: member, type: command.engagementType)
            let decision = rules.engage(command.engagementType, timeMs: nowMs, counted: counted)
            precondition(decision.points >= 0, "the rules pay, never take, for an event")
            command.options.insert(.decided)
            command.rulesVersion = decision.rulesVersion
            command.engagementOutcome = decision.outcome
            command.engagementCount = decision.countAfter
            command.amounts = AssetAmounts(points: decision.outcome == .awarded ? decision.points : 0)
        }
        precondition(command.isDecided && command.amounts.credit == 0, "an event is decided and pays points only")
        switch command.engagementOutcome {
        case .unknownType:
            result.status = .notPermitted
            return result
        case .limitReached:
            result.status = .partiallyApproved
            return result
        case .awarded:
            break
        }
        return creditEngagement(command, member: member, result)
    }

    private func creditEngagement(_ command: ShardCommand, member: Int, _ result: OperationResult) -> OperationResult {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        var result = result
        precondition(command.engagementCount.count >= 1, "an awarded event is counted")
        guard engagements.hasRoom(member: member, type: command.engagementType),
            command.amounts.points == 0 || canFormLots(member: member, credit: command.amounts)
        else {
            result.status = .capacityExceeded
            return result
        }
        guard members.add(command.amounts, to: member) else {
            result.status = .invalidAmount
            return result
        }
        engagements.set(member: member, type: command.engagementType, command.engagementCount)
        precondition(!command.amounts.hasNegative, "an event credits, never debits")
        result.credited = command.amounts
        return result
    }
}

extension WALRecord {
    /// An engage record's decision after the rules version: points, the count after (period, count), the outcome
    /// and seven zero bytes.
    static func encodeEngagementDecision(_ command: ShardCommand, _ writer: inout ByteWriter) {
        precondition(command.amounts.credit == 0 && command.amounts.points >= 0, "an event pays points only")
        precondition(
            command.engagementOutcome == .awarded ? command.engagementCount.count >= 1 : command.amounts.points == 0,
            "an awarded event is counted; any other pays nothing")
        writer.put(command.amounts.points)
        writer.put(command.engagementCount.period)
        writer.put(command.engagementCount.count)
        writer.put(command.engagementOutcome.rawValue)
        writer.put(UInt8(0))
        writer.put(UInt16(0))
        writer.put(UInt32(0))
    }

    static func decodeEngagementDecision(_ command: inout ShardCommand, _ reader: inout ByteReader) -> Bool {
        guard let version = reader.get(Int64.self), let points = reader.get(Int64.self), points >= 0,
            let period = reader.get(UInt32.self), let count = reader.get(UInt32.self),
            let raw = reader.get(UInt8.self), let outcome = EngagementDecision.Outcome(rawValue: raw),
            reader.get(UInt8.self) == 0, reader.get(UInt16.self) == 0, reader.get(UInt32.self) == 0,
            outcome == .awarded ? count >= 1 : points == 0
        else { return false }
        command.rulesVersion = version
        command.amounts = AssetAmounts(points: points)
        command.engagementCount = EngagementCount(period: period, count: count)
        command.engagementOutcome = outcome
        precondition(command.amounts.points >= 0 && command.amounts.credit == 0, "a decoded event pays points only")
        return true
    }
}

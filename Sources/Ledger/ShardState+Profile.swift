/// Enrolment with what the member tells: a birthday and who referred them (`LedgerOperation.profile`).
extension ShardState {
    func performProfile(_ command: ShardCommand) -> OperationResult {
        var result = OperationResult(.approved, card: command.masked, kind: .profile)
        let profile = MemberProfile(birthMonth: command.birthMonth, birthDay: command.birthDay)
        let referrer = command.otherCardHash
        guard profile.hasValidBirthday else {
            result.status = .invalidAmount
            return result
        }
        let member: Int
        if let index = cards.find(command.cardHash) {
            member = Int(cards.cards[index].member)
            result.member = Int32(member)
            guard cards.cards[index].status == .active else {
                result.status = .cardBlocked
                return result
            }
            // Checked before anything changes: the operation is applied whole or not at all.
            if let refusal = profileRefusal(member: member, profile, referrer: referrer, ownCard: command.cardHash) {
                result.status = refusal
                return result
            }
        } else {
            guard referrer != command.cardHash,
                let enrolled = enrolMember(hash: command.cardHash, masked: command.masked)
            else {
                result.status = referrer == command.cardHash ? .notPermitted : .capacityExceeded
                return result
            }
            member = enrolled
            result.member = Int32(member)
        }
        precondition(member >= 0 && member < members.count, "a profile's member is in the table")
        if profile.birthMonth != 0 {
            members[member].loyalty = decider.member(
                members[member].loyalty, birthMonth: profile.birthMonth, birthDay: profile.birthDay)
        }
        if referrer != ShardState.noCard {
            members[member].referrer = referrer
            members[member].loyalty = decider.referred(members[member].loyalty)
        }
        return result
    }

    static let noCard = CardHash(high: 0, low: 0)

    /// Why an enrolled member's profile cannot take these values: a birthday or referrer already set to something
    /// else, a referrer named after the first purchase (the bonus is for bringing a new customer), or the member
    /// naming one of their own cards. Nil when it can (repeating the values already set changes nothing).
    private func profileRefusal(
        member: Int, _ profile: MemberProfile, referrer: CardHash, ownCard: CardHash
    ) -> LedgerStatus? {
        precondition(member >= 0 && member < members.count, "a member of the shard")
        let loyalty = decider.summary(of: members[member].loyalty)
        if profile.birthMonth != 0 && loyalty.birthMonth != 0
            && (loyalty.birthMonth != profile.birthMonth || loyalty.birthDay != profile.birthDay)
        {
            return .notPermitted
        }
        guard referrer != ShardState.noCard, members[member].referrer != referrer else { return nil }
        guard members[member].referrer == ShardState.noCard, loyalty.purchaseCount == 0,
            !loyalty.firstPurchaseRewarded
        else { return .notPermitted }
        if let card = cards.find(referrer), Int(cards.cards[card].member) == member { return .notPermitted }
        return nil
    }
}

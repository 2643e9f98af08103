/// One card per member (the lowest-indexed card naming it), for the shard's own records about a member that no
/// request named: expiry notices and expiry sweeps carry it so the event reader knows whom to tell. Derived
/// from the card table (append-only) and caught up before use, so it needs no snapshot section and no hook in
/// the paths that enrol or link cards. 4 bytes per member, in pages touched only when used.
final class MemberCardIndex: @unchecked Sendable {
    /// Index + 1 of the member's first card; 0 when not indexed yet.
    private let firstCard: FixedStorage<Int32>
    private var cardsIndexed = 0

    init(membersMax: Int) {
        precondition(membersMax >= 1, "a shard holds at least one member")
        firstCard = FixedStorage(capacity: membersMax)
    }

    /// The first card naming `member`, catching up with cards added since the last call (amortised: each card is
    /// looked at once). Nil when no card names the member (never for a member the shard enrolled).
    func card(of member: Int, in cards: CardTable, members: Int) -> CardRecord? {
        precondition(member >= 0 && member < members, "a member of the shard")
        if firstCard.count < members { firstCard.setCount(members) }
        while cardsIndexed < cards.count {
            let owner = Int(cards.cards[cardsIndexed].member)
            if owner >= 0 && owner < firstCard.count && firstCard[owner] == 0 {
                firstCard[owner] = Int32(cardsIndexed + 1)
            }
            cardsIndexed += 1
        }
        precondition(cardsIndexed == cards.count, "every card is looked at once")
        let index = firstCard[member]
        precondition(index == 0 || cards.cards[Int(index) - 1].member == Int32(member), "the member's own card")
        return index == 0 ? nil : cards.cards[Int(index) - 1]
    }
}

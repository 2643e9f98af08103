/// The member's key a log record names when its card is another card of the member (`WALRecord.Body.member`).
extension ShardState {
    /// The keyed hash of `member`'s first card on this shard — the admin API's member id, which it finds the same
    /// way (the member's first card in the card table) — or nil when that is `card` itself, when the record touched
    /// no member (`member` < 0), or the member has no card here. Derived from the card table (`memberCards`), so
    /// snapshots keep no copy of it: the index is rebuilt from the cards after a load.
    func memberKey(_ member: Int32, unlessCard card: CardHash) -> CardHash? {
        guard member >= 0, Int(member) < members.count,
            let first = memberCards.card(of: Int(member), in: cards, members: members.count), first.hash != card
        else { return nil }
        precondition(first.member == member, "the index names a card of the member")
        return first.hash
    }
}

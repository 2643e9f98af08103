/// One indexing step's movements, made from record changes against the store's maps plus what this step already
/// changed (`heads`, `joined`), so the store's maps change only once the step is durable.
struct HistoryBatch: ~Copyable {
    let store: HistoryStore
    let shard: UInt8
    private(set) var nextSeq: UInt64
    private(set) var records: [HistoryRecord] = []
    /// The heads this step changed, in the order first changed, and where each member's is (`KeyMap`, sized to the
    /// step: no Swift dictionary's SipHash per change).
    private(set) var heads: [(CardHash, HistoryStore.MemberHead)] = []
    private var headIndex: KeyMap<CardHash, Int>
    private(set) var joined: [(CardHash, CardHash)] = []
    private var joinedMembers: [CardHash: CardHash] = [:]
    /// Changes of members the store had no room for (`membersMax`).
    private(set) var refused: UInt64 = 0

    /// A batch of up to `changesMax` changes.
    init(store: HistoryStore, firstSeq: UInt64, shard: UInt8, changesMax: Int) {
        precondition(firstSeq >= 1, "seqs start at 1")
        self.store = store
        self.nextSeq = firstSeq
        self.shard = shard
        headIndex = KeyMap(countMax: max(1, changesMax))
    }

    /// A card's member: the one it joined, else the card itself (a member's id is the card it was enrolled with).
    func member(of card: CardHash) -> CardHash {
        (joinedMembers.isEmpty ? nil : joinedMembers[card]) ?? store.member(of: card) ?? card
    }

    mutating func add(_ change: RecordChange) {
        // Every change names its card (`WALRecord.change`); the zero hash is no card, and no key of the maps.
        guard change.card != .zero else { return }
        let member = self.member(of: change.card)
        if let card = change.joiningCard, card != .zero, self.member(of: card) != member { join(card, to: member) }
        guard let kind = HistoryRecord.kindNames.firstIndex(of: change.kind), kind != 0 else {
            preconditionFailure("a record change of unknown kind \(change.kind)")
        }
        let index = headIndex[member]
        var head = index.map { heads[$0].1 } ?? store.head(member)
        if head == nil {
            guard store.memberCount + heads.count < store.limits.membersMax else {
                refused += 1
                return
            }
            head = HistoryStore.MemberHead(lastSeq: 0, balances: (0, 0, 0))
        }
        var updated = head!
        precondition(updated.lastSeq < nextSeq, "a member's last movement comes before the next seq")
        let reason = UInt8(change.reason.flatMap { HistoryRecord.reasonNames.firstIndex(of: $0) } ?? 0)
        // The member is looked up once per change (two maps each time), not again per movement.
        let movement = Movement(change: change, member: member, kind: UInt8(kind), reason: reason)
        if let after = change.balanceAfter {
            emit(movement, asset: 0, amount: after.points - updated.balances.points, after: after.points, &updated)
            emit(movement, asset: 1, amount: after.credit - updated.balances.credit, after: after.credit, &updated)
        }
        if change.giftMinor != 0 {
            // A partial payment paid what the card held.
            let amount = change.giftPaysBalance ? -updated.balances.gift : change.giftMinor
            emit(movement, asset: 2, amount: amount, after: updated.balances.gift + amount, &updated)
        }
        if let index {
            heads[index].1 = updated
        } else {
            headIndex.set(member, heads.count)
            heads.append((member, updated))
        }
        precondition(heads.count == headIndex.count, "one index entry per member changed")
    }

    private struct Movement {
        var change: RecordChange
        /// The card's member (a join in the same change never moves the change's own card).
        var member: CardHash
        var kind: UInt8
        var reason: UInt8
    }

    private mutating func emit(
        _ movement: Movement, asset: UInt8, amount: Int64, after: Int64, _ head: inout HistoryStore.MemberHead
    ) {
        guard amount != 0 else { return }
        assert(movement.member == member(of: movement.change.card), "the change's card still names its member")
        let record = HistoryRecord(
            seq: nextSeq, previous: head.lastSeq, member: movement.member,
            timeMs: movement.change.timeMs, amount: amount, balanceAfter: after, kind: movement.kind, asset: asset,
            reason: movement.reason, shard: shard)
        precondition(record.previous < record.seq, "a member's movements chain backward")
        records.append(record)
        head.lastSeq = nextSeq
        switch asset {
        case 0: head.balances.points = after
        case 1: head.balances.credit = after
        default: head.balances.gift = after
        }
        nextSeq += 1
    }

    /// A card joins a member (up to `cardsMax`: past it the card keeps naming a member of its own).
    private mutating func join(_ card: CardHash, to member: CardHash) {
        guard store.cardCount + joined.count < store.limits.cardsMax else { return }
        joined.append((card, member))
        joinedMembers[card] = member
    }
}

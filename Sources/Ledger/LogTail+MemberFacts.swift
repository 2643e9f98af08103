/// What one durable record tells the member search: which member it concerns, a card of the member's that became
/// known, and the member's figures as the rules decided them. Read from the record alone, like `RecordChange`.
public struct MemberFact: Sendable, Equatable {
    /// The member's key (its `mbr_` id's hash).
    public var member: CardHash
    /// The record's card when it is the member's first card and the record enrols it; nil otherwise.
    public var enrolledCard: MaskedCard?
    /// Cards of the member the record names (its own card when another of the member's, a linked or replacing one).
    public var cards: [MaskedCard]
    /// The member's tier, counts and purchase times after the record (records that carry a decision).
    public var summary: MemberSummary?
}

extension LogTail {
    /// What up to `recordsMax` durable records after `after` tell the member search, the last sequence read and
    /// what was skipped. `decider` reads the decided member states.
    public func memberFacts(after: UInt64, recordsMax: Int, decider: (any Decider)?) throws(LedgerError)
        -> (facts: [MemberFact], lastSequence: UInt64, gap: Gap)
    {
        var gap = Gap(recordsSkipped: 0, recordsUnreadable: 0)
        var facts: [MemberFact] = []
        let visited = try visit(after: after, limit: recordsMax, gap: &gap) { _, body in
            if let fact = WALRecord.memberFact(of: body, decider: decider) { facts.append(fact) }
        }
        return (facts, visited.through(after: after, gap: gap), gap)
    }
}

extension WALRecord {
    /// Kinds whose approved record enrols its card when the card is new (ShardState's `enrolMember` callers).
    private static func enrols(_ kind: CommandKind) -> Bool {
        switch kind {
        case .enrol, .earn, .profile, .giftLoad, .transferIn: true
        default: false
        }
    }

    /// Kinds whose record names another card that joins the member.
    private static func joins(_ kind: CommandKind) -> Bool {
        switch kind {
        case .link, .attach, .replace: true
        default: false
        }
    }

    static func memberFact(of body: Body, decider: (any Decider)?) -> MemberFact? {
        let command = body.command
        guard body.status == .approved || body.status == .partiallyApproved,
            command.kind != .forwardCard, command.kind != .transferDone, command.kind != .expireLots,
            command.kind != .none, command.kind != .inspect
        else { return nil }
        var fact = MemberFact(
            member: body.member ?? command.cardHash, enrolledCard: nil, cards: [command.masked], summary: nil)
        if body.member == nil, enrols(command.kind) || command.kind == .transferInNewCard {
            fact.enrolledCard = command.masked
        }
        if joins(command.kind) { fact.cards.append(command.otherMasked) }
        if command.isDecided, let decider, let state = decider.memberState(decoding: command.memberAfter) {
            fact.summary = decider.summary(of: state)
        }
        return fact
    }
}

/// What one durable record tells the member search: which member it concerns, a card of the member's that became
/// known, and the member's figures as the rules decided them. Read from the record alone, like `RecordChange`.
public struct MemberFact: Sendable, Equatable {
    /// The member's key (its `mbr_` id's hash).
    public var member: CardHash
    /// The record's card when it is the member's first card and the record enrols it; nil otherwise.
    public var enrolledCard: MaskedCard?
    /// The record's card: the member's (its own when another of the member's, a linked or replacing one).
    public var card: MaskedCard
    /// The other card a link or replacement joins to the member; nil for every other record. (Two fields, not an
    /// array: this is made for every record the member search reads.)
    public var joinedCard: MaskedCard?
    /// The member's tier, counts and purchase times after the record (records that carry a decision).
    public var summary: MemberSummary?
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
        // `body.command` read in place: a local copy of the command is ~800 bytes per record.
        let kind = body.command.kind
        guard body.status == .approved || body.status == .partiallyApproved,
            kind != .forwardCard, kind != .transferDone, kind != .expireLots, kind != .none, kind != .inspect
        else { return nil }
        var fact = MemberFact(
            member: body.member ?? body.command.cardHash, enrolledCard: nil, card: body.command.masked,
            joinedCard: nil, summary: nil)
        if body.member == nil, enrols(kind) || kind == .transferInNewCard {
            fact.enrolledCard = body.command.masked
        }
        if joins(kind) { fact.joinedCard = body.command.otherMasked }
        if body.command.isDecided, let decider { fact.summary = decider.summary(decoding: body.command.memberAfter) }
        return fact
    }
}

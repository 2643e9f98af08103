/// What a durable record changed in a member's balances, read back from the record alone (its kind, amounts,
/// balance after and admin stamp), for the movements history (Sources/History). The one place that knows which
/// kinds move value and what a movement of each is called: the history indexer turns these into per-member
/// movements without knowing the log's layout.
public struct RecordChange: Sendable, Equatable {
    /// The record's sequence in its shard's log and its time (the ledger's clock, ms since 1970, UTC).
    public var sequence: UInt64
    public var timeMs: Int64
    /// The movement's kind as the API names it (`earn`, `redeem`, `capture`, …).
    public var kind: String
    /// The card the record names (its member is the one whose balances changed).
    public var card: CardHash
    /// Another card that joins the same member from now on (a linked or replacing card), else nil.
    public var joiningCard: CardHash?
    /// The member's points and credit after the record; nil when the record does not say them (a gift card's
    /// record, whose value is its own asset).
    public var balanceAfter: AssetAmounts?
    /// Stored value added (issue, load) or asked for (payment, negative) on a gift card, in its minor units.
    public var giftMinor: Int64
    /// A gift payment that paid only what the card held (partial approval): the paid amount is the balance before.
    public var giftPaysBalance: Bool
    /// Why, for adjustments (the stamp's reason) and reversals (`terminal`, or `late` for the switch's own undo
    /// of an approval the terminal never saw).
    public var reason: String?

    public init(
        sequence: UInt64, timeMs: Int64, kind: String, card: CardHash, joiningCard: CardHash? = nil,
        balanceAfter: AssetAmounts?, giftMinor: Int64 = 0, giftPaysBalance: Bool = false, reason: String? = nil
    ) {
        self.sequence = sequence
        self.timeMs = timeMs
        self.kind = kind
        self.card = card
        self.joiningCard = joiningCard
        self.balanceAfter = balanceAfter
        self.giftMinor = giftMinor
        self.giftPaysBalance = giftPaysBalance
        self.reason = reason
    }

    /// Adjustment reasons in the order of their codes in the admin stamp (code 1 is the first).
    public static let adjustmentReasons = ["goodwill", "correction", "migration", "fraud"]
}

extension WALRecord {
    /// The change of the record `body` at `sequence`; nil when it changed no member's value and joined no card (a
    /// declined request, a hold, a balance inquiry, a block). A lot expiry sweep names a range of members, not a
    /// card: it is not attributed here (docs/history.md says what that means for the history).
    static func change(of body: Body, sequence: UInt64) -> RecordChange? {
        // `body.command` read in place, not copied (~800 bytes) into a local: this runs for every record.
        guard body.status == .approved || body.status == .partiallyApproved else { return nil }
        var change = RecordChange(
            sequence: sequence, timeMs: body.timeMs, kind: movementKind(body.command.kind) ?? "",
            card: body.command.cardHash, balanceAfter: body.balanceAfter)
        switch body.command.kind {
        case .link, .attach, .replace:
            change.joiningCard = body.command.otherCardHash
        case .adjust:
            // The stamp keeps the reason from 1 (0: none).
            let reason = Int(body.command.admin.reason)
            let names = RecordChange.adjustmentReasons
            change.reason = reason >= 1 && reason <= names.count ? names[reason - 1] : nil
        case .transferIn, .transferInNewCard:
            // A referral bonus paid across shards arrives as a transfer marked `bonus`.
            if body.command.options.contains(.bonus) { change.kind = "referral" }
        case .reverse:
            change.reason = body.command.options.contains(.undo) ? "late" : "terminal"
        case .giftLoad, .giftUse:
            change.balanceAfter = nil
            change.giftMinor = body.command.kind == .giftLoad ? body.command.amountMinor : -body.command.amountMinor
            change.giftPaysBalance = body.status == .partiallyApproved
            guard change.giftMinor != 0 else { return nil }
        case .hold, .balance, .block, .transferDone, .expireLots, .notice, .birthday, .forwardCard, .none, .inspect:
            return nil
        default:
            break
        }
        precondition(!change.kind.isEmpty && change.sequence == sequence, "a change names its movement and record")
        return change
    }

    /// The movement kind of a record kind that can change a member's value; nil for those that never do.
    static func movementKind(_ kind: CommandKind) -> String? {
        switch kind {
        case .earn: "earn"
        case .redeem: "redeem"
        case .capture: "capture"
        case .void: "void"
        case .reverse: "reverse"
        case .refund: "refund"
        case .adjust: "adjust"
        case .engage: "engage"
        case .giftLoad: "giftLoad"
        case .giftUse: "giftUse"
        case .enrol, .profile: "enrol"
        case .replace: "transferOut"
        case .transferIn, .transferInNewCard: "transferIn"
        case .link, .attach: "link"
        case .lotteryEntry: "lottery"
        // A forwarding card's record lives on the card's shard and changes no value (the member's shard decides
        // for it); a notice or a birthday greeting tells, it changes nothing; a sweep's record holds what expired,
        // not the balance after.
        case .hold, .balance, .block, .transferDone, .expireLots, .notice, .birthday, .forwardCard, .none, .inspect: nil
        }
    }
}

extension LogTail {
    /// What up to `recordsMax` durable records after sequence `after` changed, in order, with the last sequence
    /// read (so the next read starts after it even when those records changed nothing) and what was skipped.
    public struct ChangeBatch: Sendable {
        public var changes: [RecordChange]
        public var lastSequence: UInt64
        public var gap: Gap
    }

    public func changes(after: UInt64, recordsMax: Int) throws(LedgerError) -> ChangeBatch {
        var gap = Gap(recordsSkipped: 0, recordsUnreadable: 0)
        var changes: [RecordChange] = []
        let visited = try visit(after: after, limit: recordsMax, gap: &gap) { sequence, body in
            if let change = WALRecord.change(of: body, sequence: sequence) { changes.append(change) }
        }
        return ChangeBatch(changes: changes, lastSequence: visited.through(after: after, gap: gap), gap: gap)
    }
}

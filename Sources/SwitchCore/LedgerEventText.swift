import Ledger
import Loyalty
import LoyaltyLedger
import Notifications

/// A ledger event as a webhook receives it: the id `sSHARD-SEQUENCE-INDEX`, the member as the admin API names it
/// (`mbr_` and the keyed hash of the member's first card, whichever of its cards the record names), the masked card, and `data` with codes named (tiers by the rules in force,
/// bonus, block and adjustment reasons by their words).
enum LedgerEventText {
    static func notification(_ event: LedgerEvent, shard: Int, decider: LoyaltyDecider) -> NotificationEvent {
        var data: [EventField] = []
        for field in event.fields {
            switch (event.type, field.key) {
            case ("tier.changed", "tier"), ("tier.changed", "previousTier"):
                data.append(EventField(field.key, tierName(UInt8(truncatingIfNeeded: field.value), decider)))
            case ("bonus.awarded", "reason"):
                data.append(EventField("reason", name(BonusReason.names, field.value)))
            case ("card.blocked", "reason"):
                data.append(EventField("reason", stampReason(AdminAuditText.blockReasons, field.value)))
            case (_, "adjustment"):
                data.append(EventField("adjustment", stampReason(AdminAuditText.adjustmentReasons, field.value)))
            case ("points.redeemed", "lottery"):
                data.append(EventField("reason", "lottery"))
                data.append(EventField("lottery", "lty_" + AdminIdentifier.hex16(UInt64(bitPattern: field.value))))
            case ("offer.granted", "offer"):
                data.append(EventField("offer", String(UInt32(truncatingIfNeeded: field.value), radix: 16)))
            default:
                data.append(EventField(field.key, field.value))
            }
        }
        precondition(data.count >= event.fields.count, "every field of the event is told")
        if event.otherCard != .none { data.append(EventField("newCard", event.otherCard.description)) }
        return NotificationEvent(
            id: "s\(shard)-\(event.sequence)-\(event.index)", type: event.type, timeMs: event.timeMs,
            memberId: AdminIdentifier.member(event.member), card: event.masked.description, data: data)
    }

    static func name(_ names: [String], _ code: Int64) -> String {
        code >= 0 && code < Int64(names.count) && !names[Int(code)].isEmpty ? names[Int(code)] : "other"
    }

    /// An admin stamp's reason (1-based, as the audit trail names it).
    static func stampReason(_ names: [String], _ code: Int64) -> String {
        AdminAuditText.reasonName(names, UInt8(clamping: code))
    }

    /// The tier's identifier in the rules in force, or its level number when they have no such tier.
    static func tierName(_ level: UInt8, _ decider: LoyaltyDecider) -> String {
        guard let name = decider.receiptNamesInForce?.tier(level) else { return String(level) }
        return "\(name)"
    }
}

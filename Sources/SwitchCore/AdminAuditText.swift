import AdminAccess
import HTTP
import Ledger

/// Opaque ids of cards and members in paths: `crd_` / `mbr_` and the 32 hexadecimal digits of a card's keyed hash
/// (a member is named by the card it was enrolled with, so it keeps its id when that card is replaced on its
/// shard). Not reversible to a card number without the data directory's secret key.
enum AdminIdentifier {
    static func card(_ hash: CardHash) -> String {
        let id = identifier("crd_", hash)
        assert(self.hash(id, prefix: "crd_") == hash, "a card id names its hash")
        return id
    }

    static func member(_ hash: CardHash) -> String {
        let id = identifier("mbr_", hash)
        assert(self.hash(id, prefix: "mbr_") == hash, "a member id names its hash")
        return id
    }

    /// The hash an id names, or nil when it is not a well-formed id with `prefix`.
    static func hash(_ id: String, prefix: String) -> CardHash? {
        guard id.hasPrefix(prefix), id.utf8.count == prefix.utf8.count + 32 else { return nil }
        let digits = id.dropFirst(prefix.count)
        guard digits.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
            let high = UInt64(digits.prefix(16), radix: 16), let low = UInt64(digits.suffix(16), radix: 16)
        else { return nil }
        precondition(digits.utf8.count == 32, "an id carries the hash's 32 hex digits")
        return CardHash(high: high, low: low)
    }

    /// `prefix` and the hash's 32 digits written in one buffer (a bulk import names three ids per row).
    private static func identifier(_ prefix: StaticString, _ hash: CardHash) -> String {
        precondition(prefix.utf8CodeUnitCount == 4, "a four-byte prefix")
        let id = String(unsafeUninitializedCapacity: 36) { buffer in
            for index in 0..<4 { buffer[index] = prefix.utf8Start[index] }
            writeHex(hash.high, into: buffer, at: 4)
            writeHex(hash.low, into: buffer, at: 20)
            return 36
        }
        precondition(id.utf8.count == 36, "an id is a prefix and 32 hex digits")
        return id
    }

    private static func writeHex(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
        precondition(start >= 0 && start + 16 <= buffer.count, "16 hex digits fit the buffer")
        for index in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * index)) & 0xF
            buffer[start + index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
        }
    }

    /// The member directory's key for the member named by `hash`.
    static func memberKey(_ hash: CardHash) -> MemberKey { MemberKey(high: hash.high, low: hash.low) }

    static func hex16(_ value: UInt64) -> String {
        let text = String(unsafeUninitializedCapacity: 16) { buffer in
            writeHex(value, into: buffer, at: 0)
            return 16
        }
        precondition(text.utf8.count == 16, "a word is 16 hex digits")
        return text
    }
}

/// How an admin change's audit entry reads, made from its ledger record alone: the live path and the start-up
/// repair write the very same entry.
enum AdminAuditText {
    static let blockReasons = ["lost", "stolen", "damaged", "other"]
    static let adjustmentReasons = RecordChange.adjustmentReasons

    /// The stamp's actor and role: a user id is `usr_` and 16 hex digits, kept as their 64-bit value.
    static func stamp(_ user: AdminUser, operation: UInt64, reason: UInt8) -> AdminStamp {
        let actor = UInt64(user.id.dropFirst(4), radix: 16) ?? 0
        let role = UInt8(AdminRole.allCases.firstIndex(of: user.role) ?? 0)
        precondition(
            Int(role) < AdminRole.allCases.count && AdminRole.allCases[Int(role)] == user.role,
            "the stamp names the role")
        return AdminStamp(operation: operation, actor: actor, role: role, reason: reason)
    }

    /// Actor 0 is the command line (`loyalty-switch import members`): no user id is ever 0.
    static func actor(_ stamp: AdminStamp) -> AuditActor {
        if stamp.actor == 0 { return .commandLine }
        let roles = AdminRole.allCases
        let role = Int(stamp.role) < roles.count ? roles[Int(stamp.role)].rawValue : "unknown"
        let id = "usr_" + AdminIdentifier.hex16(stamp.actor)
        precondition(id.utf8.count == 20, "a user id is usr_ and 16 hex digits")
        return AuditActor(id: id, role: role)
    }

    static func reasonName(_ names: [String], _ code: UInt8) -> String {
        code >= 1 && Int(code) <= names.count ? names[Int(code) - 1] : "unknown"
    }

    /// The entry of `record`; `note` (an adjustment's, on the live path only: the ledger record does not carry
    /// it, so an entry repaired after a crash has none).
    static func draft(for record: AdminRecord, note: String? = nil) -> (AuditDraft, AuditActor) {
        let card = AdminIdentifier.card(record.card)
        precondition(card.hasPrefix("crd_"), "an entry names its card by id")
        let draft: AuditDraft
        switch record.change {
        case .enrol:
            // Sorted details (written once, not parsed and sorted): the member import writes these by the million.
            draft = AuditDraft(
                action: "members.create", target: "members/" + AdminIdentifier.member(record.card)
            ) { json in
                json.member("card", record.masked.description)
                json.member("cardId", card)
            }
        case .block:
            draft = AuditDraft(
                action: "cards.block", target: "cards/" + card,
                detail: AuditDetail.make { json in
                    json.member("card", record.masked.description)
                    json.member("reason", reasonName(blockReasons, record.stamp.reason))
                })
        case .replace(let newCard, let newMasked):
            draft = AuditDraft(
                action: "cards.replace", target: "cards/" + card,
                detail: AuditDetail.make { json in
                    json.member("card", record.masked.description)
                    json.member("newCard", newMasked.description)
                    json.member("newCardId", AdminIdentifier.card(newCard))
                })
        case .engage(let type, let points, let limited):
            draft = AuditDraft(
                action: "events.record", target: "members/" + AdminIdentifier.member(record.card),
                detail: AuditDetail.make { json in
                    json.member("card", record.masked.description)
                    json.key("limited")
                    json.boolean(limited)
                    json.member("points", points)
                    json.member("type", type.description)
                })
        case .lotteryEntry(let lottery, let entries, let points):
            draft = LotteryTrail.enterDraft(
                number: lottery, memberId: AdminIdentifier.member(record.card), card: record.masked.description,
                entries: entries, points: points)
        case .link(let newCard, let newMasked):
            draft = AuditDraft(
                action: "cards.link", target: "members/" + AdminIdentifier.member(record.card),
                detail: AuditDetail.make { json in
                    json.member("card", newMasked.description)
                    json.member("cardId", AdminIdentifier.card(newCard))
                    json.member("memberCard", record.masked.description)
                })
        case .adjust(let asset, let amount):
            draft = AuditDraft(
                action: "members.adjust", target: "members/" + AdminIdentifier.member(record.card)
            ) { json in
                json.member("amount", amount)
                json.member("asset", asset == .points ? "points" : "credit")
                json.member("card", record.masked.description)
                if let note { json.member("note", note) }
                json.member("reason", reasonName(adjustmentReasons, record.stamp.reason))
            }
        case .issueGift(let amountMinor, let currencyCode):
            draft = AuditDraft(
                action: "giftcards.issue", target: "gift-cards/" + card,
                detail: AuditDetail.make { json in
                    json.member("amountMinor", amountMinor)
                    json.member("card", record.masked.description)
                    json.member("currency", Int64(currencyCode))
                })
        case .loadGift(let amountMinor):
            draft = AuditDraft(
                action: "giftcards.load", target: "gift-cards/" + card,
                detail: AuditDetail.make { json in
                    json.member("amountMinor", amountMinor)
                    json.member("card", record.masked.description)
                })
        }
        return (draft, actor(record.stamp))
    }
}

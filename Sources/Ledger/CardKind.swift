/// What a card is to the club, kept in the card table (a byte of `CardRecord`) and shown by the admin API:
/// the club's own loyalty card, or a member's bank card linked to the same account.
public enum CardKind: UInt8, Sendable, BitwiseCopyable {
    case loyalty = 0
    case bank = 1
}

/// What a command carries and how it behaves, one meaning per bit in memory.
///
/// The log keeps the bits in two bytes of the record (`logged` / `init?(logged:kind:)`): bit 8 there means
/// `undo` on a reversal and `bonus` on a transferIn (kinds that never carry both), and `hasMerchant` is not logged
/// (the spending masks it resolves to are). Records written before a bit existed simply lack it.
struct CommandOptions: OptionSet, Sendable, BitwiseCopyable {
    let rawValue: UInt16

    init(rawValue: UInt16) { self.rawValue = rawValue }

    /// A redeem or hold approves what is available instead of declining.
    static let allowPartial = CommandOptions(rawValue: 1)
    /// An unknown card is enrolled first (a first purchase).
    static let autoEnrol = CommandOptions(rawValue: 2)
    /// An earn whose record carries a reference (the RRN a refund may name it by).
    static let hasReference = CommandOptions(rawValue: 4)
    /// On a reversal: the caller answered the original "not done" (a missed latency budget), so the original's
    /// remembered outcome becomes `.undone` and its repeats are answered the way the caller answered it.
    static let undo = CommandOptions(rawValue: 8)
    /// An earn, redeem, hold, capture or refund whose record carries a terminal reference.
    static let hasTerminalReference = CommandOptions(rawValue: 16)
    /// An earn whose amounts the loyalty rules decide on the shard (a purchase).
    static let purchase = CommandOptions(rawValue: 32)
    /// The record carries the loyalty decision: the rules version and the member's aggregates after it. Replay
    /// sets them instead of asking the rules again.
    static let decided = CommandOptions(rawValue: 64)
    /// The record carries the lot terms (expiry days and origin).
    static let hasLotTerms = CommandOptions(rawValue: 128)
    /// A redeem that pays a purchase amount with credit and points under payment terms (`PaymentTerms`).
    static let pay = CommandOptions(rawValue: 256)
    /// A pay, hold or capture whose record carries its spending masks and the spending merchant's tag.
    static let spending = CommandOptions(rawValue: 512)
    /// A hold or capture that names the merchant it spends at (not logged).
    static let hasMerchant = CommandOptions(rawValue: 1024)
    /// A payment or hold that answers 58 when only value earned elsewhere would pay (records before: 51).
    static let refusesAtMerchant = CommandOptions(rawValue: 2048)
    /// On a transferIn: a referral bonus, not a card replacement. Logged in bit 8, as `undo` is on a reversal.
    static let bonus = CommandOptions(rawValue: 4096)

    /// An admin API change: the record carries its `AdminStamp` (who, which audit operation, why) after every
    /// other field, so the change and its audit detail are one durable unit. Records before it lack the bit.
    static let admin = CommandOptions(rawValue: 0x2000)

    /// The bits a record may carry, in their logged positions.
    static let loggedMask: UInt16 = (0x0FFF & ~hasMerchant.rawValue) | admin.rawValue

    /// The two option bytes of a record.
    var logged: UInt16 {
        precondition(!(contains(.undo) && contains(.bonus)), "undo and bonus share their logged bit")
        var bits = rawValue & CommandOptions.loggedMask
        if contains(.bonus) { bits |= CommandOptions.undo.rawValue }
        precondition(bits & ~CommandOptions.loggedMask == 0, "only logged bits are written")
        return bits
    }

    /// The options of a record of `kind`; nil when it carries a bit no writer writes.
    init?(logged bits: UInt16, kind: CommandKind) {
        guard bits & ~CommandOptions.loggedMask == 0 else { return nil }
        var options = CommandOptions(rawValue: bits)
        if kind == .transferIn && options.contains(.undo) {
            options.remove(.undo)
            options.insert(.bonus)
        }
        self = options
    }
}

/// One gift card's stored value: money the buyer already paid, in the card's own currency, kept apart from the
/// member's points and the program's credit (it is spent only by that card, never by the loyalty rules). 16 bytes.
struct GiftAccount: BitwiseCopyable, Equatable {
    var balanceMinor: Int64
    /// The member the gift card was issued to (a member of its own, enrolled with the card).
    var member: Int32
    /// ISO 4217 numeric code; never zero (zero marks "no gift card" in replies).
    var currencyCode: UInt16
    var reserved: UInt16 = 0
}

/// The shard's gift accounts: an open-addressing map from member index to account, linear probing, never deletes
/// (a gift card keeps its account at zero). Slots hold index + 1 so that zeroed memory means empty.
struct GiftTable {
    /// The most one gift card may hold, in minor units of its currency: a load that would pass it is refused.
    /// A fixed number, not a setting, so that replaying a load decides the same whatever the configuration is.
    static let balanceMaxMinor: Int64 = 100_000_000

    let accounts: FixedStorage<GiftAccount>
    private let slots: FixedStorage<UInt32>
    private let mask: Int

    init(accountsMax: Int) {
        precondition(accountsMax >= 1, "a gift table holds at least one account")
        var slotCount = 1
        while slotCount < accountsMax * 2 { slotCount <<= 1 }
        accounts = FixedStorage(capacity: accountsMax)
        slots = FixedStorage(capacity: slotCount)
        slots.setCount(slotCount)
        mask = slotCount - 1
    }

    var isFull: Bool { accounts.isFull }
    var count: Int { accounts.count }

    /// The account of `member`, or nil. Probing is bounded: the table is at most half full.
    func find(member: Int32) -> Int? {
        precondition(member >= 0, "a member index is never negative")
        var slot = Self.slot(member) & mask
        for _ in 0...mask {
            let stored = slots[slot]
            if stored == 0 { return nil }
            let index = Int(stored) - 1
            if accounts[index].member == member { return index }
            slot = (slot + 1) & mask
        }
        preconditionFailure("gift table has no empty slot")
    }

    /// Adds the account of a member that has none; the caller checked `isFull` and `find`.
    mutating func insert(_ account: GiftAccount) -> Int {
        precondition(account.currencyCode != 0 && account.balanceMinor >= 0, "a gift account has a currency")
        precondition(find(member: account.member) == nil, "one gift account per member")
        let index = accounts.append(account)
        insertSlot(member: account.member, index: index)
        return index
    }

    /// Rebuilds the slot index after a snapshot load filled `accounts` directly.
    func rebuildIndex() {
        for index in 0..<accounts.count { insertSlot(member: accounts[index].member, index: index) }
    }

    private func insertSlot(member: Int32, index: Int) {
        var slot = Self.slot(member) & mask
        for _ in 0...mask {
            if slots[slot] == 0 {
                slots[slot] = UInt32(index + 1)
                return
            }
            slot = (slot + 1) & mask
        }
        preconditionFailure("gift table has no empty slot")
    }

    private static func slot(_ member: Int32) -> Int {
        Int(truncatingIfNeeded: UInt64(UInt32(bitPattern: member)) &* 0x9E37_79B9_7F4A_7C15 >> 32)
    }
}

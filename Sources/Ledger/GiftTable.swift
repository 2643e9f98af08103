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

/// The shard's gift accounts: a map from member index to account (the idempotency table's `SlotIndex` over the
/// accounts), never deletes (a gift card keeps its account at zero).
struct GiftTable {
    /// The most one gift card may hold, in minor units of its currency: a load that would pass it is refused.
    /// A fixed number, not a setting, so that replaying a load decides the same whatever the configuration is.
    static let balanceMaxMinor: Int64 = 100_000_000

    let accounts: FixedStorage<GiftAccount>
    private let index: SlotIndex

    init(accountsMax: Int) {
        precondition(accountsMax >= 1, "a gift table holds at least one account")
        accounts = FixedStorage(capacity: accountsMax)
        index = SlotIndex(capacity: accountsMax)
    }

    var isFull: Bool { accounts.isFull }
    var count: Int { accounts.count }

    /// The account of `member`, or nil. Probing is bounded: the table is at most half full.
    func find(member: Int32) -> Int? {
        precondition(member >= 0, "a member index is never negative")
        let account = index.find(Self.hash(member)) { accounts[$0].member == member }
        precondition(account.map { $0 >= 0 && $0 < accounts.count } ?? true, "an account of the table")
        return account
    }

    /// Adds the account of a member that has none; the caller checked `isFull` and `find`.
    mutating func insert(_ account: GiftAccount) -> Int {
        precondition(account.currencyCode != 0 && account.balanceMinor >= 0, "a gift account has a currency")
        precondition(find(member: account.member) == nil, "one gift account per member")
        let position = accounts.append(account)
        index.insert(Self.hash(account.member), index: position)
        precondition(position == accounts.count - 1, "a new account is the last")
        assert(find(member: account.member) == position, "an account added is found")
        return position
    }

    /// Rebuilds the slot index after a snapshot load filled `accounts` directly.
    func rebuildIndex() {
        precondition(accounts.count <= accounts.capacity, "accounts within giftCardsPerShardMax")
        for position in 0..<accounts.count { index.insert(Self.hash(accounts[position].member), index: position) }
    }

    /// Member indices are dense, so they are spread before probing (and give the slot's fingerprint).
    private static func hash(_ member: Int32) -> UInt64 {
        let mixed = UInt64(UInt32(bitPattern: member)) &* 0x9E37_79B9_7F4A_7C15
        return mixed ^ (mixed >> 29)
    }
}

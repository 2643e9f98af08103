/// The members of one shard and their accounts: balance and held amount per asset, the decider's member state,
/// card count and referrer (`MemberRecord`). Owns the balance invariant: no change takes a balance past what
/// field 54 can show (`balanceMagnitudeMax`) or overflows; members are only ever added. Holds change `held`
/// through `HoldTable`, which keeps it equal to the member's active holds. Shard thread only.
final class AccountTable {
    let records: FixedStorage<MemberRecord>

    /// The largest balance magnitude per asset: 12 digits, what ISO 8583 field 54 can show. A change that would
    /// pass it is refused (invalid amount) rather than reported truncated.
    static let balanceMagnitudeMax: UInt64 = 999_999_999_999

    init(capacity: Int) {
        records = FixedStorage(capacity: capacity)
    }

    var count: Int { records.count }
    var capacity: Int { records.capacity }
    var isFull: Bool { records.isFull }

    subscript(member: Int) -> MemberRecord {
        unsafeAddress { records.address(member) }
        unsafeMutableAddress { records.mutableAddress(member) }
    }

    /// Adds a member with no balance and one card; the caller checked `isFull`.
    func open() -> Int {
        records.append(
            MemberRecord(balance: .zero, held: .zero, firstHold: 0, holdCount: 0, cardCount: 1, loyalty: .zero))
    }

    /// Adds `amounts` (which may be negative) to a member's balances; false and no change on overflow or past
    /// `balanceMagnitudeMax`.
    func add(_ amounts: AssetAmounts, to member: Int) -> Bool {
        let points = records[member].balance.points.addingReportingOverflow(amounts.points)
        let credit = records[member].balance.credit.addingReportingOverflow(amounts.credit)
        guard !points.overflow, !credit.overflow else { return false }
        let limit = Self.balanceMagnitudeMax
        guard points.partialValue.magnitude <= limit, credit.partialValue.magnitude <= limit else { return false }
        records[member].balance = AssetAmounts(points: points.partialValue, credit: credit.partialValue)
        return true
    }
}

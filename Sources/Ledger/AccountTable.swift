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
        precondition(capacity >= 1, "a shard holds at least one member")
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
        precondition(!records.isFull, "callers check isFull before opening a member")
        let member = records.append(
            MemberRecord(balance: .zero, held: .zero, firstHold: 0, holdCount: 0, cardCount: 1, loyalty: .zero))
        precondition(member == records.count - 1 && member >= 0, "a new member is the last")
        return member
    }

    /// Adds `amounts` (which may be negative) to a member's balances; false and no change on overflow or past
    /// `balanceMagnitudeMax`.
    func add(_ amounts: AssetAmounts, to member: Int) -> Bool {
        precondition(member >= 0 && member < records.count, "a member of the table")
        let points = records[member].balance.points.addingReportingOverflow(amounts.points)
        let credit = records[member].balance.credit.addingReportingOverflow(amounts.credit)
        guard !points.overflow, !credit.overflow else { return false }
        let limit = Self.balanceMagnitudeMax
        guard points.partialValue.magnitude <= limit, credit.partialValue.magnitude <= limit else { return false }
        records[member].balance = AssetAmounts(points: points.partialValue, credit: credit.partialValue)
        precondition(
            records[member].balance.points.magnitude <= limit && records[member].balance.credit.magnitude <= limit,
            "a balance stays within balanceMagnitudeMax")
        return true
    }
}

/// What merchants owe each other when members spend, at one merchant, value earned at another of the same
/// coalition (`Program.spending`): per (payer, payee) merchant tag pair, the points and credit that crossed and
/// their value in money. The merchant where the value was earned (payer) owes the merchant where it was spent
/// (payee). Rebuilt by replay like every other table, kept in snapshots, reported by `ledger settlement`.
///
/// Bounded by `settlementPairsMax`: a payment that would need a new pair beyond it is declined (96) before it
/// changes anything, so no settlement is ever lost.
final class SettlementTable: @unchecked Sendable {
    let records: FixedStorage<SettlementRecord>
    private var indexByPair: [UInt64: Int32] = [:]

    init(capacity: Int) {
        precondition(capacity >= 1 && capacity < Int(Int32.max), "settlementPairsPerShardMax")
        records = FixedStorage(capacity: capacity)
        indexByPair.reserveCapacity(min(capacity, 1 << 16))
    }

    static func pair(payer: UInt32, payee: UInt32) -> UInt64 { UInt64(payer) << 32 | UInt64(payee) }

    func contains(payer: UInt32, payee: UInt32) -> Bool { indexByPair[Self.pair(payer: payer, payee: payee)] != nil }

    var freeCount: Int { records.capacity - records.count }

    /// Adds what crossed; the caller checked `freeCount` for a new pair.
    func add(payer: UInt32, payee: UInt32, points: Int64, creditMinor: Int64, valueMinor: Int64) {
        let key = Self.pair(payer: payer, payee: payee)
        let index: Int
        if let existing = indexByPair[key] {
            index = Int(existing)
        } else {
            precondition(freeCount > 0, "callers check freeCount for a new pair")
            index = records.append(
                SettlementRecord(payer: payer, payee: payee, points: 0, creditMinor: 0, valueMinor: 0))
            indexByPair[key] = Int32(index)
        }
        precondition(records[index].payer == payer && records[index].payee == payee, "the pair's own record")
        records[index].points += points
        records[index].creditMinor += creditMinor
        records[index].valueMinor += valueMinor
    }

    /// After a snapshot loaded the records.
    func rebuildIndex() {
        indexByPair.removeAll(keepingCapacity: true)
        for index in 0..<records.count {
            indexByPair[Self.pair(payer: records[index].payer, payee: records[index].payee)] = Int32(index)
        }
        precondition(indexByPair.count <= records.count, "one index entry per pair")
    }
}

/// One merchant pair's running settlement. 32 bytes.
public struct SettlementRecord: BitwiseCopyable, Equatable, Sendable {
    /// Tag of the merchant where the value was earned (it owes).
    public var payer: UInt32
    /// Tag of the merchant where it was spent (it is owed).
    public var payee: UInt32
    /// Points spent (net of reversals) and credit spent, and their money value at the point value of each payment.
    public var points: Int64
    public var creditMinor: Int64
    public var valueMinor: Int64
}

/// Per member and engagement type, how many events the rules paid in the current period (the decider numbers
/// periods in its calendar). Rebuilt by replay like every other table, kept in snapshots (Snapshot+Engagement.swift).
///
/// Bounded by `engagementCountsPerShardMax`: an event that would need a new (member, type) entry beyond it is
/// declined (`capacityExceeded`) before it changes anything. Entries are never removed: a member's count for a
/// type is overwritten when a new period starts.
final class EngagementTable: @unchecked Sendable {
    let records: FixedStorage<EngagementRecord>
    private var indexByKey: [Key: Int32] = [:]

    struct Key: Hashable {
        var member: Int32
        var type: EngagementType
    }

    init(capacity: Int) {
        precondition(capacity >= 1 && capacity < Int(Int32.max), "engagementCountsPerShardMax")
        records = FixedStorage(capacity: capacity)
        indexByKey.reserveCapacity(min(capacity, 1 << 16))
    }

    /// The member's count for `type` (zero: never counted).
    func count(member: Int, type: EngagementType) -> EngagementCount {
        precondition(member >= 0, "a member index is never negative")
        guard let index = indexByKey[Key(member: Int32(member), type: type)] else { return .zero }
        return records[Int(index)].count
    }

    /// Whether `set` has room for the member's count of `type`.
    func hasRoom(member: Int, type: EngagementType) -> Bool {
        precondition(member >= 0, "a member index is never negative")
        return !records.isFull || indexByKey[Key(member: Int32(member), type: type)] != nil
    }

    /// Sets the member's count for `type`; the caller checked `hasRoom`.
    func set(member: Int, type: EngagementType, _ count: EngagementCount) {
        precondition(count.count >= 1, "only a paid event is counted")
        precondition(member >= 0 && member <= Int(Int32.max), "a member index")
        let key = Key(member: Int32(member), type: type)
        if let existing = indexByKey[key] {
            records[Int(existing)].count = count
            return
        }
        precondition(!records.isFull, "callers check hasRoom first")
        let index = records.append(EngagementRecord(type: type, member: Int32(member), count: count, reserved: 0))
        indexByKey[key] = Int32(index)
        precondition(index == records.count - 1, "a new count is the last record")
    }

    /// After a snapshot loaded the records.
    func rebuildIndex() {
        indexByKey.removeAll(keepingCapacity: true)
        for index in 0..<records.count {
            let record = records[index]
            precondition(record.count.count >= 1, "a snapshot's engagement counts are checked when loaded")
            precondition(record.member >= 0, "a snapshot's engagement members are checked when loaded")
            indexByKey[Key(member: record.member, type: record.type)] = Int32(index)
        }
        precondition(indexByKey.count <= records.count, "at most one index entry per record")
    }
}

/// One member's count of one engagement type. 32 bytes.
struct EngagementRecord: BitwiseCopyable, Equatable {
    var type: EngagementType
    var member: Int32
    var count: EngagementCount
    var reserved: UInt32
}

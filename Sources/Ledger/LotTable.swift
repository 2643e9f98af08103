/// Dated holdings: each member's positive balance per asset is split into lots, each with the day it expires,
/// so value is spent oldest expiry first and expired value leaves the balance (breakage) deterministically.
///
/// Invariant (checked before a record is written, after it is replayed, and by `ledger verify`): per member and
/// asset, the sum of its lots equals `max(balance, 0)`. A negative balance (a debt left by a refund's claw-back)
/// has no lots; a later credit repays the debt first and only the rest forms a lot.
///
/// A lot is one asset's amount with its expiry day and origin. A member's lots of one asset form a list sorted
/// by expiry day (oldest first; equal days keep arrival order). A credit joins the lot with the same expiry day
/// and origin; days are rounded up to `lotBucketDays`, so one member has at most one lot per bucket and origin.
/// `lotsPerMemberMax` (per asset) and `lotsPerShardMax` bound them; at either limit a credit joins the member's
/// latest-expiring lot of that asset (its life only grows, value is never dropped), and only when the member
/// has no lot of that asset and the shard has no free record is the credit declined (`capacityExceeded`).
/// `restoreReserve` records are kept back for restoring refused card-replacement transfers, which must not fail.

/// Days since the Unix epoch (UTC) a lot expires on: at 00:00 UTC of that day the lot is gone.
/// `LotTerms.never` (Int32.max) never expires.
public struct LotTerms: Sendable, BitwiseCopyable, Equatable {
    /// 0: the configuration decides (`pointsLifeDays` from the command's day, or never).
    public var pointsExpiresOnDay: Int32
    /// 0: the configuration decides (`creditLifeDays`).
    public var creditExpiresOnDay: Int32
    /// Who funded the value (a merchant tag for coalition settlement); 0: none. Kept on the lot it forms.
    public var origin: UInt32

    public static let never: Int32 = .max
    /// Let the configuration decide both days, no origin.
    public static let configured = LotTerms(pointsExpiresOnDay: 0, creditExpiresOnDay: 0, origin: 0)
    /// Never expires, no origin: what records written before lots existed (or without the option) mean.
    static let neverExpires = LotTerms(pointsExpiresOnDay: never, creditExpiresOnDay: never, origin: 0)

    public init(pointsExpiresOnDay: Int32 = 0, creditExpiresOnDay: Int32 = 0, origin: UInt32 = 0) {
        self.pointsExpiresOnDay = pointsExpiresOnDay
        self.creditExpiresOnDay = creditExpiresOnDay
        self.origin = origin
    }

    public subscript(asset: Asset) -> Int32 {
        asset == .points ? pointsExpiresOnDay : creditExpiresOnDay
    }

    public static let millisecondsPerDay: Int64 = 86_400_000

    /// The UTC day (since the epoch) a time falls on; floor division so times before 1970 stay ordered.
    static func day(ofMs timeMs: Int64) -> Int64 {
        timeMs >= 0 ? timeMs / millisecondsPerDay : (timeMs - millisecondsPerDay + 1) / millisecondsPerDay
    }
}

/// One lot, or a free record (free records form a list through `next`). 32 bytes.
struct LotRecord: BitwiseCopyable, Equatable {
    var amount: Int64
    var expiresOnDay: Int32
    var origin: UInt32
    var member: Int32
    /// Index + 1 of the next lot of the same member and asset (or of the free list); 0 ends the list.
    var next: Int32
    var asset: Asset
    var isActive: Bool
    /// Its member was told it expires (`points.expiring`, kind 28); set only by a notice record.
    var isNoticed = false
}

/// A member's lot lists, one per asset, and their sums. Indexed like `ShardState.members`.
struct MemberLots: BitwiseCopyable, Equatable {
    /// Index + 1 of the oldest-expiring lot per asset; 0 when none.
    var firstPoints: Int32
    var firstCredit: Int32
    var total: AssetAmounts
    var pointsCount: UInt16
    var creditCount: UInt16

    func first(_ asset: Asset) -> Int32 { asset == .points ? firstPoints : firstCredit }

    mutating func setFirst(_ asset: Asset, _ value: Int32) {
        if asset == .points { firstPoints = value } else { firstCredit = value }
    }

    func count(_ asset: Asset) -> Int { Int(asset == .points ? pointsCount : creditCount) }

    mutating func addCount(_ asset: Asset, _ delta: Int) {
        precondition(delta == 1 || delta == -1, "lots are counted one at a time")
        precondition(count(asset) + delta >= 0, "a member's lot count is not negative")
        if asset == .points {
            pointsCount = UInt16(Int(pointsCount) + delta)
        } else {
            creditCount = UInt16(Int(creditCount) + delta)
        }
    }
}

/// Per-shard lot counters, kept in snapshots and reported by `ledger breakage`.
public struct LotCounters: Sendable, Equatable, BitwiseCopyable {
    /// Value that expired (left balances because its lot's day came), per asset, since the shard began.
    public var expired: AssetAmounts
    /// Sum of all lots per asset: the value members hold that can still expire.
    public var outstanding: AssetAmounts

    public init(expired: AssetAmounts = .zero, outstanding: AssetAmounts = .zero) {
        self.expired = expired
        self.outstanding = outstanding
    }
}

/// The lot storage of one shard: records with a free list, per-member list heads, counters and the sweep cursor.
/// Touched only by the shard's thread. The mutations that keep the invariant live in `ShardState+Lots.swift`.
final class LotTable: @unchecked Sendable {
    /// The assets in a stored array: `Asset.allCases` is a computed array, which may allocate per call.
    static let assets: [Asset] = Asset.allCases

    let records: FixedStorage<LotRecord>
    /// One entry per member, grown to `members.count` lazily (zero means no lots).
    let heads: FixedStorage<MemberLots>
    let lotsPerMemberMax: Int
    /// Records held back for restoring refused transfers (two lots per outbox entry).
    let restoreReserve: Int
    /// Index + 1 of the first free record; 0 when the free list is empty.
    var freeHead: Int32 = 0
    var activeCount: Int = 0
    var counters = LotCounters()
    /// The member the next sweep step starts at.
    var sweepCursor: Int32 = 0
    /// The member the next notice step starts at (not in snapshots: the lots' marks say what was told).
    var noticeCursor: Int32 = 0
    /// The recorded terms of the command being applied: the expiry day and origin a credit's lot gets.
    var currentTerms = LotTerms.neverExpires

    init(limits: LedgerConfiguration) {
        records = FixedStorage(capacity: limits.lotsPerShardMax)
        heads = FixedStorage(capacity: limits.membersPerShardMax)
        lotsPerMemberMax = limits.lotsPerMemberMax
        restoreReserve = 2 * limits.transfersInFlightMax
        precondition(lotsPerMemberMax >= 1 && restoreReserve >= 0, "lot limits")
        precondition(records.capacity > restoreReserve, "the lot table exceeds its restore reserve")
    }

    /// Whether the table's contents fit other limits (used before limits change).
    func fits(lotsPerShardMax: Int, lotsPerMemberMax: Int) -> Bool {
        precondition(lotsPerShardMax >= 1 && lotsPerMemberMax >= 1, "lot limits are positive")
        guard records.count <= lotsPerShardMax else { return false }
        for member in 0..<heads.count
        where heads[member].count(.points) > lotsPerMemberMax || heads[member].count(.credit) > lotsPerMemberMax {
            return false
        }
        return true
    }

    /// A free record can be taken for an ordinary credit (the restore reserve stays untouched).
    var canTakeRecord: Bool {
        activeCount + restoreReserve < records.capacity && (freeHead != 0 || !records.isFull)
    }

    /// A free record can be taken for restoring a refused transfer (may use the reserve).
    var canTakeReservedRecord: Bool { freeHead != 0 || !records.isFull }

    /// Takes a free record (the caller checked `canTake…`) and stores `lot` in it; returns its index.
    func take(_ lot: LotRecord) -> Int {
        precondition(canTakeReservedRecord, "callers check canTake before taking a lot record")
        precondition(lot.isActive && lot.amount > 0 && lot.member >= 0, "a lot taken holds value of a member")
        let index: Int
        if freeHead != 0 {
            index = Int(freeHead) - 1
            precondition(!records[index].isActive, "the free list holds an active lot")
            freeHead = records[index].next
            records[index] = lot
        } else {
            index = records.append(lot)
        }
        activeCount += 1
        precondition(activeCount <= records.count, "more active lots than records")
        return index
    }

    /// Returns a record (already unlinked from its member) to the free list.
    func release(_ index: Int) {
        precondition(records[index].isActive, "releasing a lot that is not active")
        records[index] = LotRecord(
            amount: 0, expiresOnDay: 0, origin: 0, member: -1, next: freeHead, asset: .points, isActive: false)
        freeHead = Int32(index + 1)
        activeCount -= 1
        precondition(activeCount >= 0, "active lot count went negative")
    }

    /// The member's list heads, growing the head table to cover it (new members have none).
    func ensureHeads(upTo member: Int) {
        precondition(member >= 0 && member < heads.capacity, "a member index within membersPerShardMax")
        if heads.count <= member { heads.setCount(member + 1) }
        precondition(heads.count > member, "the member has its heads")
    }
}

import Ledger

/// The second word of every crash-test key: key 0 (the first of cycle 0) was otherwise the all-zero key, the
/// ledger's "no key", which no switch request has; once a shard's ring filled (longer runs than the test's), moving
/// it to the key store tripped a precondition. Must match `LedgerCrashTests` and `LotCrashTests`.
let crashKeyWord1: UInt64 = 0xC4A5

/// The request the crash tests use for key `key`: earn one point and one credit unit on card `key % cardCount`,
/// auto-enrolling. The tests rebuild the same request to probe whether a key was applied.
func crashRequest(key: UInt64, cardCount: UInt64) -> LedgerRequest {
    let cardDigits = String(4_000_000_000_000_000 + key % cardCount)
    return LedgerRequest(
        tag: key, key: IdempotencyKey(word0: key, word1: crashKeyWord1), digest: ContentDigest(high: key, low: 7),
        card: CardNumber(cardDigits)!,
        operation: .earn(amounts: AssetAmounts(points: 1, credit: 1), purchaseAmountMinor: 100, autoEnrol: true))
}

/// The lot crash test's request for `key` on `day`: as `crashRequest`, but only on the cards whose index has the
/// day's parity (`2 × (key mod cardCount/2) + day mod 2`). The other half is not touched that day, so their lots
/// that fall due then can only be expired by the sweep. Must match `LotCrashTests.request(key:)`.
func lotCrashRequest(key: UInt64, cardCount: UInt64, day: Int64) -> LedgerRequest {
    let index = 2 * (key % (cardCount / 2)) + UInt64(day % 2)
    let cardDigits = String(4_000_000_000_000_000 + index)
    return LedgerRequest(
        tag: key, key: IdempotencyKey(word0: key, word1: crashKeyWord1), digest: ContentDigest(high: key, low: 7),
        card: CardNumber(cardDigits)!,
        operation: .earn(amounts: AssetAmounts(points: 1, credit: 1), purchaseAmountMinor: 100, autoEnrol: true))
}

/// The lot crash test's configuration on top of `base`: the clock stands at 01:00 UTC of `day`, points live
/// 2 days and credit 3, and a sweep step runs every millisecond over all of a shard's members (64 is more than
/// the test's 40 cards). A shard's first loop iteration runs a sweep step before its first commit, so every lot
/// due that day is expired, and logged, before the shard acknowledges anything. Snapshots are rarer than in the
/// plain crash test, so the log after the last one usually still holds sweep steps to replay. Must match
/// `LotCrashTests`.
func crashLotConfiguration(_ base: LedgerConfiguration, day: Int64) -> LedgerConfiguration {
    var configuration = base
    let nowMs = day * 86_400_000 + 3_600_000
    configuration.clockMs = { nowMs }
    configuration.pointsLifeDays = 2
    configuration.creditLifeDays = 3
    configuration.lotSweepIntervalMs = 1
    configuration.lotSweepMembersPerStep = 64
    configuration.snapshotIntervalRecords = 1500
    return configuration
}

/// The checkpoint crash test's configuration on top of `base`: tables large enough that writing a snapshot takes
/// a while (a 65,536-key ring is ~26 MB per shard), so the test can kill the child while a `.snap.tmp` is being
/// written and the shard keeps applying earns. Must match `CheckpointCrashTests`.
func crashCheckpointConfiguration(_ base: LedgerConfiguration) -> LedgerConfiguration {
    var configuration = base
    configuration.membersPerShardMax = 1 << 15
    configuration.cardsPerShardMax = 1 << 15
    configuration.segmentBytes = 1 << 20
    configuration.snapshotIntervalRecords = 2000
    return configuration
}
